/* MILenARI EDC — live skip logic and derivations on eCRF pages.
 * evaluate() mirrors edc/crf/expressions.py: the server parses each show_if once into a
 * JSON tree (data-show-if), this evaluates the same tree while the user types. The
 * server stays the authority: hidden items are cleared, and everything re-validated, on
 * save. Derived values come from the server's /derive endpoint (the same engine). */
(function () {
  "use strict";
  var NUMERIC = /^-?[0-9]+(\.[0-9]+)?$/;

  function num(v) {
    if (typeof v === "string" && NUMERIC.test(v)) return Number(v);
    return v;
  }
  function truthy(v) {
    if (Array.isArray(v)) return v.length > 0;
    return !!v && v !== "";
  }
  function eq(a, b) {
    a = num(a); b = num(b);
    if (a === undefined) a = null;
    if (b === undefined) b = null;
    if (Array.isArray(a) && Array.isArray(b)) {
      return a.length === b.length && a.every(function (x, i) { return eq(x, b[i]); });
    }
    return a === b;
  }
  function compare(op, a, b) {
    if (op === "==") return eq(a, b);
    if (op === "!=") return !eq(a, b);
    a = num(a); b = num(b);
    if (a === null || a === undefined || b === null || b === undefined) return false;
    if (typeof a !== typeof b || typeof a === "boolean") {
      if (!(typeof a === "boolean" && typeof b === "boolean")) return false;
    }
    if (op === "<") return a < b;
    if (op === "<=") return a <= b;
    if (op === ">") return a > b;
    if (op === ">=") return a >= b;
    throw new Error("bad operator " + op);
  }
  function evaluate(t, env) {
    var k = t[0], i, v;
    switch (k) {
      case "const": return t[1];
      case "num": return Number(t[1]);
      case "name": case "ref":
        v = env[t[1]];
        return v === undefined ? null : v;
      case "and":
        v = true;
        for (i = 1; i < t.length; i++) { v = evaluate(t[i], env); if (!truthy(v)) return v; }
        return v;
      case "or":
        v = false;
        for (i = 1; i < t.length; i++) { v = evaluate(t[i], env); if (truthy(v)) return v; }
        return v;
      case "not": return !truthy(evaluate(t[1], env));
      case "cmp": return compare(t[1], evaluate(t[2], env), evaluate(t[3], env));
      case "in": case "notin":
        var needle = evaluate(t[1], env), hay = evaluate(t[2], env);
        if (hay === null || hay === undefined) hay = [];
        if (!Array.isArray(hay)) hay = [hay];
        var found = hay.some(function (h) { return eq(needle, h); });
        return k === "in" ? found : !found;
      case "list": return t.slice(1).map(function (c) { return evaluate(c, env); });
      case "neg":
        v = num(evaluate(t[1], env));
        return typeof v === "number" ? -v : null;
      case "arith":
        var a = num(evaluate(t[2], env)), b = num(evaluate(t[3], env));
        if (typeof a !== "number" || typeof b !== "number") return null;
        if (t[1] === "+") return a + b;
        if (t[1] === "-") return a - b;
        if (t[1] === "*") return a * b;
        if (t[1] === "/") return b === 0 ? null : a / b;
    }
    throw new Error("unknown node " + k);
  }

  /* Input value of an item, typed like the server's stored values. */
  function toAsciiDigits(s) {
    return s.replace(/[\u0660-\u0669]/g, function (c) { return String(c.charCodeAt(0) - 0x660); })
            .replace(/[\u06F0-\u06F9]/g, function (c) { return String(c.charCodeAt(0) - 0x6F0); })
            .replace(/\u066B/g, ".").replace(/\u066C/g, "");
  }
  function itemValue(form, name) {
    var els = form.querySelectorAll('[name="' + name + '"]');
    if (!els.length) return null;
    var first = els[0];
    if (first.type === "checkbox") {
      var list = [];
      els.forEach(function (e) { if (e.checked) list.push(e.value); });
      return list.length ? list : null;
    }
    if (first.type === "radio") {
      var val = null;
      els.forEach(function (e) { if (e.checked) val = e.value; });
      if (val === "true") return true;
      if (val === "false") return false;
      return val;
    }
    var s = (first.value || "").trim();
    if (s === "") return null;
    if (first.classList.contains("num")) {
      s = toAsciiDigits(s).replace(/\s/g, "");
      if (s.indexOf(",") >= 0 && s.indexOf(".") < 0) s = s.replace(",", ".");
      if (NUMERIC.test(s)) return s.indexOf(".") >= 0 ? s : Number(s);
    }
    return s;
  }

  function setup(form) {
    var refs = JSON.parse(form.getAttribute("data-refs") || "{}");
    var fields = Array.prototype.slice.call(form.querySelectorAll("[data-item]"));
    var derived = {};
    var conditional = fields.filter(function (f) { return f.hasAttribute("data-show-if"); })
      .map(function (f) { return { el: f, tree: JSON.parse(f.getAttribute("data-show-if")) }; });

    function env() {
      var e = {}, k;
      for (k in refs) e[k] = refs[k];
      fields.forEach(function (f) { var n = f.getAttribute("data-item"); e[n] = itemValue(form, n); });
      for (k in derived) e[k] = derived[k];
      return e;
    }
    function applyVisibility() {
      var e = env();
      conditional.forEach(function (c) {
        var shown = truthy(evaluate(c.tree, e));
        c.el.classList.toggle("hidden", !shown);
        c.el.querySelectorAll("input, select, textarea").forEach(function (i) {
          if (!i.hasAttribute("data-disabled")) i.disabled = !shown;
        });
      });
    }
    var timer = null, seq = 0;
    function refreshDerived() {
      var url = form.getAttribute("data-derive-url");
      if (!url || !window.fetch) return;
      var mine = ++seq;
      var data = new FormData(form);
      fetch(url, { method: "POST", body: data, credentials: "same-origin",
                   headers: { "X-CSRFToken": data.get("csrf_token") } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (j) {
          if (!j || mine !== seq) return;
          derived = j.derived || {};
          Object.keys(j.display || {}).forEach(function (n) {
            var out = form.querySelector('[data-derived="' + n + '"]');
            if (out) out.textContent = j.display[n];
          });
          var errs = form.querySelector(".derive-errors");
          if (errs) errs.textContent = (j.errors || []).join(" ");
          applyVisibility();
        })
        .catch(function () { /* offline: the server derives on save */ });
    }
    function changed() {
      var reason = document.getElementById("f-reason");
      if (reason && form.getAttribute("data-completed") === "1") reason.classList.remove("hidden");
      applyVisibility();
      clearTimeout(timer);
      timer = setTimeout(refreshDerived, 250);
    }
    form.querySelectorAll("input, select, textarea").forEach(function (i) {
      if (i.disabled) i.setAttribute("data-disabled", "1");
    });
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    applyVisibility();
    keyboardAndLeaveWarning(form);
  }

  // The values of the form's fields (not the CSRF token), to tell whether anything changed.
  function snapshot(form) {
    var parts = [];
    form.querySelectorAll("input, select, textarea").forEach(function (i) {
      if (!i.name || i.name === "csrf_token" || i.type === "submit" || i.type === "button") return;
      if (i.type === "checkbox" || i.type === "radio") {
        if (i.checked) parts.push(i.name + "=" + i.value);
      } else if (i.tagName === "SELECT" && i.multiple) {
        Array.prototype.forEach.call(i.options, function (o) {
          if (o.selected) parts.push(i.name + "=" + o.value);
        });
      } else {
        parts.push(i.name + "=" + i.value);
      }
    });
    return parts.join("\u0001");
  }

  // Keyboard flow: Ctrl+S / ⌘S saves (the "Save" button, never "mark complete"; Enter in a
  // field does the same, as "Save" is the form's first submit button). Leaving the page
  // warns only if a value differs from the page as loaded — or the page shows entries a
  // failed save did not store (data-unsaved) — and never while the form is being sent.
  function keyboardAndLeaveWarning(form) {
    var saveButton = form.querySelector('button[type="submit"][name="action"][value="save"]');
    var initial = snapshot(form);
    var unsaved = form.getAttribute("data-unsaved") === "1";
    var submitting = false;
    form.addEventListener("submit", function () { submitting = true; });
    window.addEventListener("pageshow", function () { submitting = false; });
    document.addEventListener("keydown", function (ev) {
      var isS = ev.code === "KeyS" || ev.key === "s" || ev.key === "S";
      if (!isS || !(ev.ctrlKey || ev.metaKey) || ev.altKey || ev.shiftKey) return;
      if (!saveButton || saveButton.disabled) return;
      if (ev.target && ev.target.form && ev.target.form !== form) return;  // another form
      ev.preventDefault();
      if (submitting) return;
      if (typeof form.requestSubmit === "function") form.requestSubmit(saveButton);
      else saveButton.click();
    });
    window.addEventListener("beforeunload", function (ev) {
      if (submitting || !saveButton) return;
      if (!unsaved && snapshot(form) === initial) return;
      ev.preventDefault();
      ev.returnValue = "";
    });
  }

  if (typeof document !== "undefined") {
    document.addEventListener("DOMContentLoaded", function () {
      var f = document.getElementById("crf-form");
      if (f) setup(f);
      // After a refused save, keyboard and screen-reader users start at the error
      // summary (its links lead to the fields in error).
      var summary = document.getElementById("form-errors") || document.getElementById("stale");
      if (summary) window.addEventListener("load", function () { summary.focus(); });
    });
  }
  if (typeof module !== "undefined") module.exports = { evaluate: evaluate, truthy: truthy };
})();
