"use strict";
// cdt-nlp page: no libraries, no inline script; everything is rendered with DOM APIs (never innerHTML).

const ITEMS = ["chief_complaint", "anatomical_region", "findings", "interpretation", "rationale", "follow_up"];
const LABELS = {
  chief_complaint: "Chief complaint / history",
  anatomical_region: "Anatomical region",
  findings: "Findings",
  interpretation: "Interpretation",
  rationale: "Rationale (medical necessity)",
  follow_up: "Follow-up",
};
const REASONS = {
  not_found: "not found in the note",
  negated: "stated as not done",
  deferred: "deferred or sent elsewhere",
  empty: "empty header or placeholder",
  no_clinical_reason: "no clinical reason (protocol or request only)",
  not_specific: "too vague",
  other_person: "about someone else",
  hypothetical: "only hypothetical",
  not_imaging: "not from the imaging",
};
const $ = (id) => document.getElementById(id);
const codes = new Map();
let last = null;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function showError(message) {
  $("error").textContent = message || "";
}

function detailOf(body, status) {
  if (body && typeof body.detail === "string") return body.detail;
  if (body && Array.isArray(body.detail)) {
    return body.detail.map((d) => `${(d.loc || []).slice(1).join(".") || "request"}: ${d.msg}`).join("; ");
  }
  return `The server answered ${status}.`;
}

async function api(path, options) {
  const res = await fetch(path, { credentials: "same-origin", ...options });
  if (!res.ok) {
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    throw new Error(detailOf(body, res.status));
  }
  return res;
}

function normaliseCode(raw) {
  const first = (raw || "").trim().split(/[\s—-]+/)[0];
  const m = /^[dD]?(\d{4})$/.exec(first);
  return m ? `D${m[1]}` : first.toUpperCase();
}

async function loadCodes() {
  try {
    const list = await (await api("/api/codes")).json();
    const options = $("code-options");
    for (const c of list) {
      codes.set(c.code, c);
      options.append(el("option", { value: c.code, label: `${c.code} ${c.name} — ${c.keywords.join(", ")}` }));
    }
  } catch (err) {
    showError(`Could not load the code list: ${err.message}`);
  }
}

function describeCode() {
  const info = codes.get(normaliseCode($("code").value));
  $("code-name").textContent = info ? info.name : "";
}

async function check(event) {
  if (event) event.preventDefault();
  showError("");
  const note = $("note").value;
  const code = normaliseCode($("code").value);
  if (!note.trim()) { showError("Paste a chart note first."); $("note").focus(); return; }
  if (!code) { showError("Pick the code you mean to bill."); $("code").focus(); return; }
  const button = $("check");
  button.disabled = true;
  button.textContent = "Checking…";
  try {
    const res = await api("/api/check", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ note, code }),
    });
    last = { result: await res.json(), note };
    render(last.result, note);
  } catch (err) {
    showError(err.message);
  } finally {
    button.disabled = false;
    button.textContent = "Check";
  }
}

function highlight(container, note, items) {
  // each character goes to the first span covering it: present evidence before missing-item quotes
  const spans = [];
  for (const [pass, present] of [[0, true], [1, false]]) {
    for (const item of ITEMS) {
      const res = items[item];
      if (!res || res.present !== present) continue;
      for (const ev of res.evidence || []) {
        if (ev.end > ev.start) spans.push({ start: ev.start, end: ev.end, item, present, pass });
      }
    }
  }
  const cuts = new Set([0, note.length]);
  for (const s of spans) { cuts.add(Math.max(0, s.start)); cuts.add(Math.min(note.length, s.end)); }
  const points = [...cuts].sort((a, b) => a - b);
  container.replaceChildren();
  for (let i = 0; i < points.length - 1; i++) {
    const a = points[i], b = points[i + 1];
    const text = note.slice(a, b);
    const span = spans.find((s) => s.start <= a && s.end >= b);
    if (!span) { container.append(text); continue; }
    const label = LABELS[span.item] + (span.present ? "" : " (why it is missing)");
    const cls = span.present ? `i-${span.item}` : "missing-evidence";
    container.append(el("mark", { className: cls, title: label, dataset: { item: span.item } }, text));
  }
}

function render(r, note) {
  $("result").hidden = false;
  $("result-code").textContent = r.code;
  const score = $("score");
  score.textContent = `${r.score.toFixed(1)} / 100`;
  score.className = `score ${r.score >= 85 ? "high" : r.score >= 60 ? "mid" : "low"}`;
  const banner = $("mismatch-banner");
  const mismatch = (r.warnings || []).find((w) => w.check === "code_mismatch");
  banner.hidden = !(r.mismatch && mismatch);
  banner.textContent = r.mismatch && mismatch ? `⚠ ${mismatch.message}` : "";
  const top = (r.suggestions || [])[0];
  $("suggestion").textContent = top && !noServiceBest(r)
    ? `The note best supports ${top.code} (${codes.get(top.code)?.name || ""}), ${Math.round(100 * top.probability)}% sure.`
    : "The note does not document any of the catalog's imaging services.";

  const checklist = $("checklist");
  checklist.replaceChildren();
  for (const item of ITEMS) {
    const res = r.items[item];
    const why = res.present ? "" : res.required ? REASONS[res.reason] || res.reason || "missing" : "not required for this code";
    checklist.append(
      el("li", { dataset: { item, present: String(res.present) } },
        el("span", { className: "mark", "aria-hidden": "true" }, res.present ? "✓" : res.required ? "✗" : "–"),
        el("span", {}, `${LABELS[item]}: ${res.present ? "present" : res.required ? "missing" : "absent"}`),
        why ? el("span", { className: "why" }, ` (${why})`) : "",
        res.found_by === "classifier"
          ? el("span", { className: "why learned" }, ` (found by the sentence classifier, ${Math.round(100 * res.confidence)}% sure: check the quote)`)
          : ""),
    );
  }
  const fixes = $("fixes");
  fixes.replaceChildren();
  (r.missing || []).forEach((item, i) => fixes.append(el("li", {}, el("strong", {}, `${LABELS[item]}: `), r.fixes[i] || "")));
  if (!r.missing.length) fixes.append(el("li", {}, "Nothing to fix: every required item is documented."));
  const warnings = $("warnings");
  warnings.replaceChildren();
  for (const w of r.warnings || []) warnings.append(el("li", {}, w.message));
  if (!(r.warnings || []).length) warnings.append(el("li", {}, "None."));

  const legend = $("legend");
  legend.replaceChildren();
  for (const item of ITEMS) legend.append(el("li", {}, el("span", { className: `swatch i-${item}` }), LABELS[item]));
  legend.append(el("li", {}, el("mark", { className: "missing-evidence" }, "dashed"), " why an item is missing"));
  highlight($("highlighted"), note, r.items);
  $("copy-status").textContent = "";
  $("result").scrollIntoView({ behavior: "smooth", block: "start" });
}

// the suggester's best reading is "no catalog service" (more probable than any code)
function noServiceBest(r) {
  const top = (r.suggestions || [])[0];
  return r.no_service_probability != null && r.no_service_probability > (top ? top.probability : 0);
}

function summary(r) {
  const lines = [`Code ${r.code}: documentation score ${r.score.toFixed(1)}/100.`];
  for (const item of ITEMS) {
    const res = r.items[item];
    if (res.required) lines.push(`- ${LABELS[item]}: ${res.present ? "documented" : "MISSING"}`);
  }
  (r.missing || []).forEach((item, i) => lines.push(`Fix (${LABELS[item]}): ${r.fixes[i]}`));
  for (const w of r.warnings || []) lines.push(`Warning: ${w.message}`);
  const top = (r.suggestions || [])[0];
  if (noServiceBest(r)) lines.push("Suggested code: none (no catalog imaging service documented).");
  else if (top) lines.push(`Suggested code: ${top.code} (${Math.round(100 * top.probability)}%).`);
  return lines.join("\n");
}

async function copySummary() {
  if (!last) return;
  const text = summary(last.result);
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) {
    const buffer = $("copy-buffer");
    buffer.value = text;
    buffer.select();
    document.execCommand("copy");
  }
  $("copy-status").textContent = "Copied";
}

async function upload(event) {
  event.preventDefault();
  const file = $("upload-file").files[0];
  const status = $("upload-status");
  const link = $("download-link");
  link.hidden = true;
  if (!file) { status.textContent = "Choose a CSV or Excel file first."; return; }
  const form = new FormData();
  form.append("file", file);
  form.append("text_col", $("text-col").value || "text");
  form.append("code_col", $("code-col").value || "code");
  if ($("id-col").value.trim()) form.append("id_col", $("id-col").value.trim());
  status.textContent = `Auditing ${file.name}…`;
  $("upload-submit").disabled = true;
  try {
    const blob = await (await api("/api/audit", { method: "POST", body: form })).blob();
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(blob);
    link.hidden = false;
    status.textContent = `Done: ${file.name} audited.`;
  } catch (err) {
    status.textContent = `Could not audit the file: ${err.message}`;
  } finally {
    $("upload-submit").disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  loadCodes();
  $("check-form").addEventListener("submit", check);
  $("note").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) check(e);
  });
  $("code").addEventListener("input", describeCode);
  $("copy-summary").addEventListener("click", copySummary);
  $("upload-form").addEventListener("submit", upload);
});
