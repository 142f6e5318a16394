"""Files in and out: the lowest layer.

Every file uptake writes goes through ``atomic`` (a temporary name beside the
destination, renamed into place, permissions from the umask), every JSON it writes
through ``jsonable``, every output path through ``outputs.check_output``; tables are
read by ``tables`` (whole) or ``chunks`` (streamed) and written by ``writer``.
"""
