// cadenza's web page: a list of runs and one run's tree of calls, refreshed while it runs.
// Everything shown comes from the JSON API; model output is inserted as text, never HTML.
"use strict";

const POLL_MS = 700;
const KEY = "cadenza_api_key";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function showMessage(text) {
  const p = document.getElementById("message");
  p.textContent = text || "";
  p.hidden = !text;
}

async function api(path, options) {
  const headers = { "Accept": "application/json" };
  const key = localStorage.getItem(KEY);
  if (key) headers["Authorization"] = "Bearer " + key;
  const response = await fetch(path, { ...(options || {}), headers });
  if (response.status === 401) {
    document.getElementById("auth").hidden = false;
    throw new Error("this server needs an API key");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = (body.error && body.error.message) || response.statusText;
    throw new Error(message);
  }
  return body;
}

function setupAuth() {
  const form = document.getElementById("auth");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem(KEY, document.getElementById("auth-key").value.trim());
    location.reload();
  });
}

const fmt = {
  tokens: (u) => u ? String((u.input_tokens || 0) + (u.output_tokens || 0)) : "",
  cost: (c, unpriced) => (c === null || c === undefined) ? "?" :
    "$" + Number(c).toFixed(4) + (unpriced ? " +" + unpriced + " unpriced" : ""),
  seconds: (s) => (s === null || s === undefined) ? "" : Number(s).toFixed(2),
  score: (s) => (s === null || s === undefined) ? "" : Number(s).toFixed(2),
  time: (t) => t ? new Date(t * 1000).toLocaleString() : "",
};

function scoreClass(s) {
  return s >= 1 ? "score-1" : s <= 0 ? "score-0" : "score-mid";
}

function inputText(request) {
  const input = request && request.input !== undefined ? request.input : request && request.messages;
  if (typeof input === "string") return input;
  if (Array.isArray(input)) return input.map((m) => m.role + ": " + (typeof m.content === "string" ? m.content : JSON.stringify(m.content))).join("\n");
  return "";
}

// -- the list of runs ------------------------------------------------------------------
function indexPage() {
  const tbody = document.querySelector("#runs tbody");
  const filter = document.getElementById("status-filter");
  const more = document.getElementById("more");
  let cursor = null;

  function row(run) {
    const input = run.input_preview || "";
    return el("tr", { "data-run-id": run.id, "data-status": run.status },
      el("td", {}, el("a", { href: "/runs/" + encodeURIComponent(run.id), text: run.id.slice(0, 8) })),
      el("td", {}, el("span", { class: "status " + run.status, text: run.status })),
      el("td", { text: run.source }),
      el("td", { text: fmt.time(run.created_at) }),
      el("td", { text: input.length > 80 ? input.slice(0, 80) + "…" : input }),
      el("td", { text: fmt.score(run.score) }),
      el("td", { text: run.finish_reason || "" }),
      el("td", { text: String(run.usage.calls) }),
      el("td", { text: fmt.tokens(run.usage) }),
      el("td", { text: fmt.cost(run.usage.cost_usd, run.usage.unpriced_calls) }),
      el("td", { text: fmt.seconds(run.seconds) }));
  }

  async function load(append) {
    const params = new URLSearchParams({ limit: "50" });
    if (filter.value) params.set("status", filter.value);
    if (append && cursor) params.set("cursor", cursor);
    const page = await api("/v1/runs?" + params);
    if (!append) tbody.replaceChildren();
    for (const run of page.data) tbody.append(row(run));
    cursor = page.next_cursor;
    more.hidden = !page.has_more;
    document.getElementById("empty").hidden = tbody.children.length > 0;
    showMessage("");
  }

  async function refresh() {
    try { await load(false); } catch (err) { showMessage(err.message); }
    const live = tbody.querySelector('tr[data-status="in_progress"]');
    setTimeout(refresh, live ? POLL_MS * 2 : 5000);
  }

  filter.addEventListener("change", () => load(false).catch((e) => showMessage(e.message)));
  more.addEventListener("click", () => load(true).catch((e) => showMessage(e.message)));
  refresh();
}

// -- one run ---------------------------------------------------------------------------
function runPage() {
  const runId = decodeURIComponent(location.pathname.split("/").pop());
  const open = new Set();
  document.getElementById("run-id").textContent = runId;
  document.title = "cadenza run " + runId.slice(0, 8);
  const cancel = document.getElementById("cancel");
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    try { await api("/v1/runs/" + encodeURIComponent(runId) + "/cancel", { method: "POST" }); }
    catch (err) { showMessage(err.message); }
  });

  function renderRun(run) {
    const status = document.getElementById("run-status");
    status.textContent = run.status;
    status.className = "status " + run.status;
    cancel.hidden = run.status !== "in_progress";
    const u = run.usage;
    document.getElementById("summary").textContent =
      `${run.source} run · models ${run.models.join(", ")} · created ${fmt.time(run.created_at)}` +
      ` · ${u.calls} calls · ${u.input_tokens} in + ${u.output_tokens} out tokens` +
      ` · ${fmt.cost(u.cost_usd, u.unpriced_calls)}` +
      (run.seconds !== null && run.seconds !== undefined ? ` · ${fmt.seconds(run.seconds)} s` : "");
    const error = document.getElementById("run-error");
    error.hidden = !run.error;
    error.textContent = run.error ? "error: " + run.error.message : "";
    document.getElementById("input").textContent = inputText(run.request);
    const answer = document.getElementById("answer");
    answer.textContent = run.result === null || run.result === undefined
      ? (run.status === "in_progress" ? "(running…)" : "(no answer)") : run.result;
    renderSources(run.data_sources, run.result || "");
    const rr = run.requirements_result;
    document.getElementById("score").textContent = rr
      ? `score ${fmt.score(rr.score)} · ${rr.finish_reason}` + (rr.finish_message ? ` · ${rr.finish_message}` : "")
      : "";
    const tbody = document.querySelector("#requirements tbody");
    tbody.replaceChildren();
    const reqs = rr ? rr.requirements : (run.request.requirements || []).map((r) => ({ ...r, score: null, reason: "" }));
    for (const r of reqs) {
      tbody.append(el("tr", { "data-requirement": r.name || r.description },
        el("td", {}, el("strong", { text: r.name || "" }), el("br"), r.description),
        el("td", { text: r.is_mandatory ? "yes" : "" }),
        el("td", { class: r.score === null ? "" : scoreClass(r.score), text: fmt.score(r.score) }),
        el("td", { text: r.reason || "" }),
        el("td", { text: r.validator || "" })));
    }
  }

  // Each passage shown to the model, beside the sentences of the answer that cite it.
  function renderSources(ds, answer) {
    const section = document.getElementById("sources-section");
    section.hidden = !ds;
    if (!ds) return;
    const sentences = answer.split(/(?<=[.!?\]])\s+|\n+/).filter((s) => s.trim());
    const citing = (id) => {
      const re = new RegExp("[\\[(][^\\])]*\\b" + id + "\\b[^\\])]*[\\])]", "i");
      return sentences.filter((s) => re.test(s));
    };
    document.getElementById("source-notes").replaceChildren(
      ...(ds.notes || []).map((n) => el("li", { text: n })));
    const all = [...(ds.file_search || []), ...(ds.web_search || [])].sort((a, b) => a.order - b.order);
    document.getElementById("sources").replaceChildren(...all.map((p) => {
      const link = p.url && /^https?:\/\//i.test(p.url);  // never a javascript: link
      const where = link ? el("a", { href: p.url, rel: "noopener noreferrer", text: p.url })
        : el("code", { text: p.url || p.file_name || p.file_id });
      const claims = citing(p.id);
      return el("div", { class: "source", "data-source": p.id },
        el("p", {}, el("strong", { text: `[${p.id}] ` }), p.title ? p.title + " · " : "", where,
          el("span", { class: "muted", text: ` · score ${Number(p.score).toFixed(3)}` })),
        el("pre", { text: p.text }),
        claims.length
          ? el("ul", { class: "claims" }, ...claims.map((c) => el("li", { text: c })))
          : el("p", { class: "muted", text: "not cited" }));
    }));
  }

  function nodeItem(node, children) {
    const scores = el("span", { class: "scores" });
    for (const [name, s] of Object.entries(node.scores || {})) {
      scores.append(el("span", { class: scoreClass(s), title: name, text: `${name}=${fmt.score(s)}` }));
    }
    const line = el("div", { class: "node", "data-node-id": node.id, "data-kind": node.kind },
      el("span", { class: "kind", text: node.kind }),
      el("span", { class: "status " + node.status, text: node.status }),
      node.model ? el("code", { text: node.model }) : null,
      node.requirement ? el("span", { class: "muted", text: "requirement " + node.requirement }) : null,
      node.candidate_id ? el("span", { class: "muted", text: "candidate " + node.candidate_id }) : null,
      node.detail && node.detail.query ? el("span", { class: "muted", text: `${node.detail.tool}: ${node.detail.query}` }) : null,
      node.detail && node.detail.label ? el("strong", { text: `[${node.detail.label}]` }) : null,
      node.detail && (node.kind === "passage" || node.kind === "fetch")
        ? el("span", { class: "muted", text: node.detail.title || node.detail.file_name || node.detail.url || "" }) : null,
      el("span", { text: `${node.input_tokens}+${node.output_tokens} tok` }),
      el("span", { text: fmt.cost(node.cost_usd) }),
      el("span", { text: fmt.seconds(node.latency_s) + " s" }),
      scores,
      node.error ? el("span", { class: "error", text: node.error }) : null);
    const item = el("li", {}, line);
    if (node.response || (node.messages && node.messages.length)) {
      const details = el("details", { "data-node-id": node.id },
        el("summary", { class: "muted", text: "details" }));
      if (open.has(node.id)) details.open = true;
      details.addEventListener("toggle", () => details.open ? open.add(node.id) : open.delete(node.id));
      for (const m of node.messages || []) details.append(el("pre", { text: m.role + ": " + m.content }));
      if (node.response) details.append(el("pre", { class: "answer", text: node.response }));
      item.append(details);
    }
    if (children.length) item.append(el("ul", {}, ...children));
    return item;
  }

  function renderTree(nodes) {
    const byParent = new Map();
    for (const n of nodes) {
      const key = n.parent || "";
      if (!byParent.has(key)) byParent.set(key, []);
      byParent.get(key).push(n);
    }
    const build = (n) => nodeItem(n, (byParent.get(n.id) || []).map(build));
    const ids = new Set(nodes.map((n) => n.id));
    const roots = nodes.filter((n) => !n.parent || !ids.has(n.parent));
    document.getElementById("tree").replaceChildren(...roots.map(build));
    document.getElementById("node-count").textContent = `(${nodes.length})`;
  }

  async function refresh() {
    let status = "in_progress";
    try {
      const id = encodeURIComponent(runId);
      const [run, trace] = await Promise.all([api("/v1/runs/" + id), api("/v1/runs/" + id + "/trace")]);
      renderRun(run);
      renderTree(trace.nodes);
      status = run.status;
      showMessage("");
    } catch (err) {
      showMessage(err.message);
      status = "error";
    }
    if (status === "in_progress") setTimeout(refresh, POLL_MS);
    else if (status === "error") setTimeout(refresh, 3000);
  }
  refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  setupAuth();
  if (document.body.dataset.page === "run") runPage();
  else indexPage();
});
