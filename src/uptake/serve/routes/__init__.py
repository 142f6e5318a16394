"""The service's routes, one router per concern: predictions, model and health, the page and sign-in."""
