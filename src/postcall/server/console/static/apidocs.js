// Interactive API docs for postcall: reads /openapi.json and lets you try each operation.
// Written without any library (the server works offline); builds the DOM with createElement only.
(function () {
  "use strict";
  var root = document.getElementById("apidocs");
  var tokenInput = document.getElementById("token");
  var spec = null;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function resolve(schema) {
    if (schema && schema.$ref) {
      var name = schema.$ref.split("/").pop();
      return spec.components.schemas[name] || {};
    }
    return schema || {};
  }

  function typeName(schema) {
    if (!schema) { return "any"; }
    if (schema.$ref) { return schema.$ref.split("/").pop(); }
    if (schema.anyOf) { return schema.anyOf.map(typeName).join(" | "); }
    if (schema.enum) { return schema.enum.map(function (v) { return JSON.stringify(v); }).join(" | "); }
    if (schema.type === "array") { return typeName(schema.items) + "[]"; }
    return schema.format ? schema.type + " (" + schema.format + ")" : (schema.type || "object");
  }

  function operation(path, method, op) {
    var params = (op.parameters || []).filter(function (p) { return p.in === "path" || p.in === "query"; });
    var inputs = {};
    var rows = params.map(function (p) {
      var input = el("input", { name: p.name, placeholder: typeName(p.schema) });
      inputs[p.name] = { param: p, input: input };
      return el("tr", {}, [
        el("td", {}, [el("code", { text: p.name }), el("span", { class: "muted", text: p.required ? " *" : "" })]),
        el("td", { class: "muted", text: p.in }),
        el("td", {}, [input]),
        el("td", { class: "muted", text: p.description || typeName(p.schema) }),
      ]);
    });
    var body = null;
    if (op.requestBody) {
      body = el("textarea", { rows: "4", cols: "60", placeholder: "JSON body" });
    }
    var output = el("pre", { class: "muted", text: "" });
    output.hidden = true;
    var send = el("button", { class: "btn primary small", type: "button", text: "Send" });
    send.addEventListener("click", function () {
      var url = path;
      var query = [];
      Object.keys(inputs).forEach(function (name) {
        var item = inputs[name];
        var value = item.input.value;
        if (item.param.in === "path") {
          url = url.replace("{" + name + "}", encodeURIComponent(value));
        } else if (value !== "") {
          query.push(encodeURIComponent(name) + "=" + encodeURIComponent(value));
        }
      });
      if (query.length) { url += "?" + query.join("&"); }
      var headers = { "Accept": "application/json" };
      if (tokenInput.value) { headers["Authorization"] = "Bearer " + tokenInput.value; }
      var init = { method: method.toUpperCase(), headers: headers, credentials: "omit" };
      if (body && body.value) { headers["Content-Type"] = "application/json"; init.body = body.value; }
      output.hidden = false;
      output.textContent = method.toUpperCase() + " " + url + " ...";
      fetch(url, init).then(function (response) {
        return response.text().then(function (text) {
          var shown = text;
          try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
          output.textContent = response.status + " " + response.statusText + "\n\n" + shown;
        });
      }).catch(function (error) { output.textContent = String(error); });
    });
    var responses = Object.keys(op.responses || {}).map(function (code) {
      var r = op.responses[code];
      var content = r.content && r.content["application/json"];
      return el("li", {}, [
        el("code", { text: code }),
        el("span", { text: " " + (r.description || "") + (content ? " → " + typeName(content.schema) : "") }),
      ]);
    });
    return el("details", { class: "panel op" }, [
      el("summary", {}, [
        el("span", { class: "badge " + (method === "get" ? "info" : "warn"), text: method.toUpperCase() }),
        el("code", { text: " " + path + " " }),
        el("span", { class: "muted", text: op.summary || "" }),
      ]),
      op.description ? el("p", { text: op.description }) : null,
      rows.length ? el("table", {}, [el("tbody", {}, rows)]) : null,
      body,
      el("p", {}, [send]),
      output,
      el("h3", { text: "Responses" }),
      el("ul", {}, responses),
    ]);
  }

  function schemas() {
    var names = Object.keys((spec.components && spec.components.schemas) || {}).sort();
    return names.map(function (name) {
      var schema = resolve({ $ref: "#/components/schemas/" + name });
      var props = schema.properties || {};
      var required = schema.required || [];
      var rows = Object.keys(props).map(function (key) {
        return el("tr", {}, [
          el("td", {}, [el("code", { text: key }), el("span", { class: "muted", text: required.indexOf(key) >= 0 ? " *" : "" })]),
          el("td", { class: "mono", text: typeName(props[key]) }),
          el("td", { class: "muted", text: props[key].description || "" }),
        ]);
      });
      return el("details", { class: "panel" }, [
        el("summary", {}, [el("code", { text: name })]),
        schema.description ? el("p", { text: schema.description }) : null,
        rows.length ? el("table", {}, [el("tbody", {}, rows)]) : el("p", { class: "muted", text: typeName(schema) }),
      ]);
    });
  }

  fetch("/openapi.json", { credentials: "omit" }).then(function (r) { return r.json(); }).then(function (data) {
    spec = data;
    root.textContent = "";
    root.appendChild(el("p", { class: "subtitle", text: (spec.info.description || "").split("\n")[0] }));
    Object.keys(spec.paths).forEach(function (path) {
      Object.keys(spec.paths[path]).forEach(function (method) {
        root.appendChild(operation(path, method, spec.paths[path][method]));
      });
    });
    root.appendChild(el("h2", { text: "Schemas" }));
    schemas().forEach(function (node) { root.appendChild(node); });
  }).catch(function (error) { root.textContent = "Could not load /openapi.json: " + error; });
})();
