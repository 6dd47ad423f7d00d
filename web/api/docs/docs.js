// Renders /api/schema/ (the OpenAPI 3.1 document) as a page: every operation by tag, with its
// parameters, body and responses, then the credentials and the shapes. Plain DOM, no library,
// nothing fetched but the document; text is set with textContent, never parsed as HTML.

const METHODS = ["get", "post", "put", "patch", "delete", "options"];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const child of children.flat()) {
    if (child == null) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

// The document's small Markdown: paragraphs, **bold** and `code`.
function prose(text) {
  const box = el("div", { class: "desc" });
  for (const para of (text || "").split(/\n\s*\n/)) {
    if (!para.trim()) continue;
    const p = el("p");
    for (const piece of para.split(/(\*\*[^*]+\*\*|`[^`]+`)/)) {
      if (piece.startsWith("**") && piece.endsWith("**") && piece.length > 4) p.append(el("strong", {}, piece.slice(2, -2)));
      else if (piece.startsWith("`") && piece.endsWith("`") && piece.length > 2) p.append(el("code", {}, piece.slice(1, -1)));
      else p.append(piece);
    }
    box.append(p);
  }
  return box;
}

function resolve(doc, node) {
  if (!node || !node.$ref) return [node, null];
  const parts = node.$ref.replace(/^#\//, "").split("/");
  let target = doc;
  for (const part of parts) target = target?.[part];
  return [target, parts[parts.length - 1]];
}

function typeText(schema) {
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const type = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type;
  return type || "any";
}

function constraints(schema) {
  const out = [];
  if (schema.enum) out.push("one of " + schema.enum.map((v) => JSON.stringify(v)).join(", "));
  if (schema.format) out.push(schema.format);
  if (schema.minLength !== undefined) out.push(`at least ${schema.minLength} characters`);
  if (schema.maxLength !== undefined) out.push(`at most ${schema.maxLength} characters`);
  if (schema.minimum !== undefined) out.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) out.push(`≤ ${schema.maximum}`);
  if (schema.default !== undefined) out.push(`default ${JSON.stringify(schema.default)}`);
  if (schema.readOnly) out.push("read-only");
  return out;
}

// A schema as a tree of its properties; a named shape ($ref) is expanded once per branch.
function schemaTree(doc, node, seen = new Set()) {
  const [schema, name] = resolve(doc, node);
  if (!schema) return el("span", { class: "note" }, "(unknown)");
  if (name && seen.has(name)) return el("span", {}, el("a", { href: `#schema-${name}` }, name));
  const branch = new Set(seen);
  if (name) branch.add(name);
  const head = el("span", {}, name ? el("a", { href: `#schema-${name}` }, name) : null, name ? " " : null);
  for (const key of ["oneOf", "anyOf", "allOf"]) {
    if (schema[key]) {
      const words = { oneOf: "one of", anyOf: "any of", allOf: "all of" }[key];
      return el("span", {}, head, el("span", { class: "note" }, words + ":"),
        el("ul", {}, schema[key].map((s) => el("li", {}, schemaTree(doc, s, branch)))));
    }
  }
  const line = el("span", {}, head, el("span", { class: "type" }, typeText(schema)));
  const notes = constraints(schema);
  if (notes.length) line.append(" ", el("span", { class: "note" }, "(" + notes.join("; ") + ")"));
  if (schema.type === "array" && schema.items) {
    return el("span", {}, line, el("span", { class: "note" }, " of"), el("ul", {}, el("li", {}, schemaTree(doc, schema.items, branch))));
  }
  if (schema.properties) {
    const required = new Set(schema.required || []);
    const items = Object.entries(schema.properties).map(([prop, sub]) =>
      el("li", {}, el("span", { class: "name" }, prop), required.has(prop) ? el("span", { class: "req" }, "required") : null,
        ": ", schemaTree(doc, sub, branch), sub.description ? el("span", { class: "note" }, " — " + sub.description) : null));
    return el("span", {}, line, el("ul", {}, items));
  }
  if (schema.additionalProperties && typeof schema.additionalProperties === "object") {
    return el("span", {}, line, el("span", { class: "note" }, " each value:"),
      el("ul", {}, el("li", {}, schemaTree(doc, schema.additionalProperties, branch))));
  }
  return line;
}

function schemaBox(doc, schema) { return el("div", { class: "schema" }, schemaTree(doc, schema)); }

function securityText(doc, op) {
  const reqs = op.security || doc.security || [];
  const names = reqs.map((r) => Object.keys(r).join(" + ") || "none");
  return names.length ? "Credentials: " + names.join(", ") : "";
}

function parametersTable(params) {
  if (!params.length) return null;
  return el("div", {}, el("h4", {}, "Parameters"), el("table", {},
    el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, "schema"), el("th", {}, "")),
    params.map((p) => el("tr", {}, el("td", {}, el("code", {}, p.name)), el("td", {}, p.in),
      el("td", { class: "schema" }, typeText(p.schema || {}), " ", constraints(p.schema || {}).join("; ")),
      el("td", {}, p.description || "")))));
}

function bodyBlock(doc, op) {
  const [body] = resolve(doc, op.requestBody);
  if (!body) return null;
  const types = Object.keys(body.content || {});
  const first = body.content[types[0]];
  return el("div", {}, el("h4", {}, "Body"), el("p", { class: "security" }, types.join(", ")),
    body.description ? prose(body.description) : null, schemaBox(doc, first.schema));
}

function responsesTable(doc, op) {
  const rows = Object.entries(op.responses || {}).map(([status, node]) => {
    const [res] = resolve(doc, node);
    const cell = el("td", {}, prose(res.description));
    for (const [type, media] of Object.entries(res.content || {})) {
      cell.append(el("div", { class: "security" }, type));
      if (media.schema) cell.append(schemaBox(doc, media.schema));
    }
    return el("tr", {}, el("td", { class: "status" }, status), cell);
  });
  return el("div", {}, el("h4", {}, "Responses"), el("table", {}, rows));
}

function operationId(method, path) { return `op-${method}-${path.replace(/[^A-Za-z0-9]+/g, "-")}`; }

function operation(doc, path, method, op, pathParams) {
  return el("article", { class: "op", id: operationId(method, path) },
    el("h3", {}, el("span", { class: `method ${method}` }, method), el("span", { class: "path" }, path),
      el("span", { class: "summary" }, op.summary || "")),
    el("p", { class: "security" }, securityText(doc, op)),
    op.description ? prose(op.description) : null,
    parametersTable([...pathParams, ...(op.parameters || [])]),
    bodyBlock(doc, op),
    responsesTable(doc, op));
}

function render(doc) {
  const main = document.getElementById("doc");
  const nav = document.getElementById("nav");
  main.replaceChildren(el("h2", {}, `${doc.info.title} ${doc.info.version}`), prose(doc.info.summary), prose(doc.info.description));
  const byTag = new Map((doc.tags || []).map((t) => [t.name, { tag: t, ops: [] }]));
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = (op.tags || ["other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, { tag: { name: tag }, ops: [] });
      byTag.get(tag).ops.push({ path, method, op, params: item.parameters || [] });
    }
  }
  for (const { tag, ops } of byTag.values()) {
    if (!ops.length) continue;
    nav.append(el("h2", {}, tag.name));
    const section = el("section", { class: "tag", id: `tag-${tag.name}` }, el("h2", {}, tag.name), tag.description ? prose(tag.description) : null);
    for (const { path, method, op, params } of ops) {
      if (method !== "options") nav.append(el("a", { href: "#" + operationId(method, path) }, `${method.toUpperCase()} ${path}`));
      section.append(operation(doc, path, method, op, params));
    }
    main.append(section);
  }
  const schemes = Object.entries(doc.components.securitySchemes || {});
  nav.append(el("h2", {}, "reference"), el("a", { href: "#credentials" }, "Credentials"), el("a", { href: "#shapes" }, "Shapes"));
  main.append(el("section", { class: "tag", id: "credentials" }, el("h2", {}, "Credentials"), el("table", {},
    schemes.map(([name, s]) => el("tr", {}, el("td", {}, el("code", {}, name)),
      el("td", {}, [s.type, s.scheme, s.in, s.name].filter(Boolean).join(" · ")), el("td", {}, prose(s.description)))))));
  const shapes = el("section", { class: "tag", id: "shapes" }, el("h2", {}, "Shapes"));
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    shapes.append(el("article", { class: "op", id: `schema-${name}` }, el("h3", {}, el("span", { class: "path" }, name)),
      schema.description ? prose(schema.description) : null, schemaBox(doc, schema)));
  }
  main.append(shapes);
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}

fetch("/api/schema/", { headers: { Accept: "application/json" } })
  .then((res) => { if (!res.ok) throw new Error(`HTTP ${res.status}`); return res.json(); })
  .then(render)
  .catch((err) => { document.getElementById("doc").replaceChildren(el("p", {}, `The document could not be loaded: ${err.message}`)); });
