// uptake's page: score one customer through the JSON API, or a file through the file endpoint.
// No framework and no build step. Calls are same-origin; when the service has an API key,
// the browser's session cookie plus the X-Uptake-Page header authorise them.
"use strict";

(function () {
  const info = JSON.parse(document.getElementById("uptake-model").textContent);
  const byName = new Map(info.fields.map((f) => [f.name, f]));
  const form = document.getElementById("customer-form");
  const $ = (id) => document.getElementById(id);
  // One decimal, or two near 0% and 100% so that 99.97% does not read as a certainty.
  const pct = (p) => {
    if (p > 0 && p < 0.0001) return "<0.01%";
    if (p < 1 && p >= 0.9999) return ">99.99%";
    return (100 * p).toFixed((p > 0 && p < 0.001) || (p > 0.999 && p < 1) ? 2 : 1) + "%";
  };
  window.uptakeFormat = pct;
  const fmt = (v) => (Number.isInteger(v) ? String(v) : String(+v.toFixed(4)));

  function fieldBox(name) {
    return form.querySelector(`.field[data-name="${CSS.escape(name)}"]`);
  }

  function setFieldError(name, message) {
    const box = fieldBox(name);
    if (!box) return false;
    box.classList.toggle("invalid", Boolean(message));
    box.querySelector(".error").textContent = message || "";
    return true;
  }

  function clearErrors() {
    form.querySelectorAll(".field").forEach((b) => setFieldError(b.dataset.name, ""));
    $("form-error").textContent = "";
  }

  // Read the form into one JSON customer, checking ranges first so the message is immediate.
  function readCustomer() {
    const customer = {};
    const problems = [];
    for (const f of info.fields) {
      const input = form.elements.namedItem(f.name);
      if (f.kind === "numeric") {
        if (input.validity.badInput) {
          problems.push([f.name, "Enter a number."]);
          continue;
        }
        const text = input.value.trim();
        if (text === "") { customer[f.name] = null; continue; }
        const v = Number(text);
        if (!Number.isFinite(v)) { problems.push([f.name, "Enter a number."]); continue; }
        if ((f.minimum !== null && v < f.minimum) || (f.maximum !== null && v > f.maximum)) {
          problems.push([f.name, `${f.name} must be between ${fmt(f.minimum)} and ${fmt(f.maximum)}` +
            (f.train_min !== null ? ` (customers in training: ${fmt(f.train_min)}–${fmt(f.train_max)}).` : ".")]);
          continue;
        }
        customer[f.name] = v;
      } else if (f.kind === "date") {
        customer[f.name] = input.value === "" ? null : input.value;
      } else if (f.kind === "binary") {
        customer[f.name] = Number(input.value);
      } else {
        const match = f.categories.find((c) => String(c) === input.value);
        customer[f.name] = match === undefined ? input.value : match;
      }
    }
    return { customer, problems };
  }

  function showProblems(problems) {
    for (const [name, message] of problems) setFieldError(name, message);
    const first = problems.length > 1 ? ` (${problems.length} fields need attention)` : "";
    $("form-error").textContent = "Please correct the highlighted value" + (problems.length > 1 ? "s" : "") + first + ".";
    const box = fieldBox(problems[0][0]);
    if (box) box.querySelector("input,select").focus();
  }

  // FastAPI-style 422: {"detail": [{"loc": ["body", "Income"], "msg": ...}]} or {"detail": "text"}.
  function showServerError(status, body) {
    if (status === 401) {
      $("form-error").textContent = "Your session has ended: reload the page and sign in again.";
      return;
    }
    const detail = body && body.detail;
    if (Array.isArray(detail)) {
      const problems = detail.map((d) => {
        const name = d.loc.filter((p) => p !== "body" && typeof p === "string")[0];
        return [byName.has(name) ? name : "", `${d.msg}.`];
      });
      const onFields = problems.filter(([n]) => n);
      if (onFields.length) { showProblems(onFields); return; }
      $("form-error").textContent = problems.map((p) => p[1]).join(" ");
      return;
    }
    $("form-error").textContent = typeof detail === "string" ? detail : `The service answered ${status}.`;
  }

  function showResult(prediction) {
    const p = prediction.probability;
    $("result-empty").hidden = true;
    $("result-body").hidden = false;
    $("prob-value").textContent = pct(p);
    $("prob-fill").style.width = (100 * p).toFixed(2) + "%";
    $("prob-fill").classList.toggle("yes", prediction.decision === 1);
    $("threshold-mark").style.left = (100 * info.threshold).toFixed(2) + "%";
    const label = $("threshold-label");
    label.textContent = (info.threshold > 0.5 ? "threshold " + pct(info.threshold) + " ▲" : "▲ threshold " + pct(info.threshold));
    label.style.left = (100 * info.threshold).toFixed(2) + "%";
    label.style.transform = info.threshold > 0.5 ? "translateX(calc(-100% + 0.45em))" : "translateX(-0.45em)";
    const decision = $("decision");
    decision.className = "decision " + (prediction.decision === 1 ? "yes" : "no");
    decision.textContent = prediction.decision === 1
      ? `Likely to take up the offer: ${pct(p)} is at or above the model's threshold of ${pct(info.threshold)}.`
      : `Unlikely to take up the offer: ${pct(p)} is below the model's threshold of ${pct(info.threshold)}.`;
    const list = $("reasons");
    list.replaceChildren();
    for (const r of prediction.reasons || []) {
      const li = document.createElement("li");
      li.className = r.effect >= 0 ? "up" : "down";
      const arrow = document.createElement("span");
      arrow.className = "arrow";
      arrow.textContent = r.effect >= 0 ? "▲" : "▼";
      li.append(arrow, " ", r.text || `${r.feature} = ${r.value} ${r.effect >= 0 ? "raises" : "lowers"} the chance`);
      list.append(li);
    }
    $("reasons-empty").hidden = (prediction.reasons || []).length > 0;
    // Unusual values are scored, and said so: the score rests on less evidence there.
    const warnings = prediction.warnings || [];
    $("warnings").hidden = warnings.length === 0;
    $("warnings").textContent = warnings.length
      ? "Unusual for this model (scored, with less evidence behind it): " + warnings.join("; ") + "."
      : "";
    // On a phone the result sits below the form: bring it into view.
    if (window.matchMedia("(max-width: 820px)").matches) {
      $("result").scrollIntoView({ behavior: "smooth", block: "start" });
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const { customer, problems } = readCustomer();
    if (problems.length) { showProblems(problems); return; }
    const button = $("score-button");
    button.disabled = true;
    try {
      const response = await fetch("/api/v1/predict?reasons=true", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-Uptake-Page": "1" },
        body: JSON.stringify(customer),
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) { showServerError(response.status, body); return; }
      showResult(body.predictions[0]);
    } catch (err) {
      $("form-error").textContent = "Could not reach the service: " + err.message;
    } finally {
      button.disabled = false;
    }
  });

  form.addEventListener("reset", () => { clearErrors(); });
  form.addEventListener("input", (event) => {
    const box = event.target.closest(".field");
    if (box && box.classList.contains("invalid")) setFieldError(box.dataset.name, "");
  });

  // ---- file upload ----------------------------------------------------------------------------
  let downloadUrl = null;

  function parseCsvLine(line) {
    const out = [];
    let cur = "", quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quoted) {
        if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; }
        else if (ch === '"') quoted = false;
        else cur += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ",") { out.push(cur); cur = ""; }
      else cur += ch;
    }
    out.push(cur);
    return out;
  }

  function showPreview(text) {
    const lines = text.split(/\r?\n/).filter((l) => l.length).slice(0, 11);
    const table = $("preview");
    table.replaceChildren();
    if (!lines.length) return;
    const header = parseCsvLine(lines[0]);
    const show = ["rank", "probability", "decision", ...header.filter((h) => !["rank", "probability", "decision"].includes(h))];
    const idx = show.map((h) => header.indexOf(h));
    const caption = document.createElement("caption");
    caption.textContent = "Top " + (lines.length - 1) + " customers";
    const thead = document.createElement("thead");
    const hr = document.createElement("tr");
    show.forEach((h) => { const th = document.createElement("th"); th.textContent = h; hr.append(th); });
    thead.append(hr);
    const tbody = document.createElement("tbody");
    for (const line of lines.slice(1)) {
      const cells = parseCsvLine(line);
      const tr = document.createElement("tr");
      idx.forEach((j, k) => {
        const td = document.createElement("td");
        let v = cells[j] ?? "";
        if (show[k] === "probability" && v !== "") v = pct(Number(v));
        else if (/^-?\d+\.\d{5,}$/.test(v)) v = String(+Number(v).toFixed(4));
        td.textContent = v;
        tr.append(td);
      });
      tbody.append(tr);
    }
    table.append(caption, thead, tbody);
  }

  $("upload-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("upload-error");
    error.textContent = "";
    const file = $("upload-file").files[0];
    if (!file) { error.textContent = "Choose a file first."; return; }
    const button = $("upload-button");
    button.disabled = true;
    button.textContent = "Scoring…";
    try {
      const data = new FormData();
      data.append("file", file);
      const skip = $("skip-invalid").checked ? "true" : "false";
      const response = await fetch(`/api/v1/predict/file?skip_invalid=${skip}`, {
        method: "POST", credentials: "same-origin", headers: { "X-Uptake-Page": "1" }, body: data,
      });
      if (!response.ok) {
        const body = await response.json().catch(() => null);
        const detail = body && body.detail;
        error.textContent = response.status === 401 ? "Your session has ended: reload the page and sign in again."
          : typeof detail === "string" ? detail
          : Array.isArray(detail) ? detail.map((d) => d.msg).join("; ")
          : `The service answered ${response.status}.`;
        $("upload-result").hidden = true;
        return;
      }
      const blob = await response.blob();
      const rows = Number(response.headers.get("X-Uptake-Rows"));
      const positives = Number(response.headers.get("X-Uptake-Positives"));
      const skipped = Number(response.headers.get("X-Uptake-Skipped") || 0);
      const name = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
      if (downloadUrl) URL.revokeObjectURL(downloadUrl);
      downloadUrl = URL.createObjectURL(blob);
      const link = $("download-link");
      link.href = downloadUrl;
      link.download = name ? name[1] : "scored.csv";
      link.textContent = "Download " + link.download;
      $("upload-summary").textContent = `Scored ${rows.toLocaleString()} customers: ${positives.toLocaleString()} at or above the threshold` +
        (skipped ? `; ${skipped.toLocaleString()} invalid rows skipped.` : ".");
      showPreview(await blob.slice(0, 65536).text());
      $("upload-result").hidden = false;
    } catch (err) {
      error.textContent = "Could not reach the service: " + err.message;
    } finally {
      button.disabled = false;
      button.textContent = "Score file";
    }
  });

  // The buttons are served disabled: clicked (or Enter pressed) before this script had taken the
  // forms over, the browser would submit them itself, a customer's fields in the address (GET).
  $("score-button").disabled = false;
  $("upload-button").disabled = false;
})();
