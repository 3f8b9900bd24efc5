/**
 * What every privacy node's edit dialog shares: palette category and colour, the path
 * check, field lists, list resizing and the field-list dialog of encrypt and decrypt. Node-RED serves this file at
 * resources/@privacy-toolkit/node-red-privacy/privacy-editor.js; each node's .html loads it
 * before its own registerType, and loading it twice is harmless.
 *
 * What stays repeated in each .html, on purpose: the registerType literals (the flow
 * library's scorecard reads category, colour, icon, inputs and defaults there, so they
 * cannot come from here; test/nodes/editor-html.test.js keeps them equal to ours) and
 * each form's template markup (Node-RED finds it by the type's data-template-name).
 *
 * The path check is the grammar of src/core/paths.ts (parsePath) written for the
 * browser; test/unit/core/editor-paths.test.js runs the same inputs through both and
 * fails if they ever disagree.
 */
(function (global) {
  "use strict";
  if (global.PrivacyEditor) return;

  var FORBIDDEN_KEYS = ["__proto__", "constructor", "prototype"];
  var IDENTIFIER = /^[A-Za-z_$][\w$-]*/;
  var WILDCARD = "*";

  /** Reads a bracket segment at `open`; returns { segment, end } or { error }. */
  function readBracket(src, open) {
    var rest = src.slice(open + 1);
    var quote = rest[0];
    if (quote === '"' || quote === "'") {
      var value = "";
      var j = 1;
      for (; j < rest.length; j++) {
        var c = rest[j];
        if (c === "\\" && j + 1 < rest.length) value += rest[++j];
        else if (c === quote) break;
        else value += c;
      }
      if (rest[j] !== quote || rest[j + 1] !== "]") return { error: "unterminated quoted key at " + open };
      return { segment: { key: value }, end: open + 1 + j + 2 };
    }
    var close = rest.indexOf("]");
    if (close < 0) return { error: 'missing "]" after ' + open };
    var inner = rest.slice(0, close).trim();
    if (inner === "*") return { segment: WILDCARD, end: open + close + 2 };
    if (!/^\d+$/.test(inner)) return { error: '"[' + inner + ']" must be an index, "*" or a quoted key' };
    return { segment: { index: Number(inner) }, end: open + close + 2 };
  }

  /**
   * Parses a property path; returns { segments } (each "*", { key } or { index }) or
   * { error } naming what is wrong, like the runtime's PathError.
   */
  function parsePath(text) {
    if (typeof text !== "string") return { error: "path must be a string" };
    var src = text.trim();
    if (src === "") return { error: "path is empty" };
    var segments = [];
    var i = 0;
    var expectKey = true;
    while (i < src.length) {
      var ch = src[i];
      if (ch === "[") {
        var b = readBracket(src, i);
        if (b.error) return { error: b.error };
        segments.push(b.segment);
        i = b.end;
        expectKey = false;
        continue;
      }
      if (ch === ".") {
        if (expectKey) return { error: 'unexpected "." at ' + i };
        expectKey = true;
        i++;
        continue;
      }
      if (!expectKey) return { error: 'expected "." or "[" at ' + i };
      if (ch === "*") {
        segments.push(WILDCARD);
        i++;
      } else {
        var m = IDENTIFIER.exec(src.slice(i));
        if (!m) return { error: 'unexpected "' + ch + '" at ' + i };
        segments.push({ key: m[0] });
        i += m[0].length;
      }
      expectKey = false;
    }
    if (expectKey) return { error: 'ends with "."' };
    for (var s = 0; s < segments.length; s++) {
      if (segments[s].key !== undefined && FORBIDDEN_KEYS.indexOf(segments[s].key) >= 0) {
        return { error: 'key "' + segments[s].key + '" is not allowed' };
      }
    }
    return { segments: segments };
  }

  /**
   * Why a path is not acceptable, or null. Options: wildcard (default true) allows "*";
   * msgPrefix strips a leading "msg." as typed in a typedInput-free field.
   */
  function pathProblem(text, options) {
    var opts = options || {};
    var src = typeof text === "string" && opts.msgPrefix ? text.trim().replace(/^msg\./, "") : text;
    var parsed = parsePath(src);
    if (parsed.error) return parsed.error;
    if (opts.wildcard === false && parsed.segments.indexOf(WILDCARD) >= 0) return 'cannot contain "*"';
    return null;
  }

  function isPath(text, options) {
    return pathProblem(text, options) === null;
  }

  /** A field list as stored (an array) or as typed (one per line, or comma separated). */
  function toList(v) {
    if (Array.isArray(v)) return v;
    return String(v || "")
      .split(/[\n,]/)
      .map(function (s) { return s.trim(); })
      .filter(function (s) { return s !== ""; });
  }

  /** A `defaults` validator: every entry of a field list is a path (empty list allowed). */
  function pathListValidator(options) {
    return function (v) {
      return toList(v).every(function (p) { return isPath(p, options); });
    };
  }

  /** A `defaults` validator for one path. */
  function pathValidator(options) {
    return function (v) { return isPath(String(v === undefined || v === null ? "" : v), options); };
  }

  /**
   * oneditresize for a dialog with one editableList: gives the list what the other rows
   * of the form leave, and at least `min` pixels.
   */
  function resizeList(listSelector, size, min) {
    var list = $(listSelector);
    var row = list.closest(".form-row");
    var height = size.height;
    list.closest("form").children("div").not(row).each(function () {
      if ($(this).is(":visible")) height -= $(this).outerHeight(true);
    });
    list.editableList("height", Math.max(min, height - 20));
  }

  /**
   * label, oneditprepare and oneditsave of a node that works on msg.<property> or on
   * listed fields (encrypt, decrypt): the label says which ("encrypt 2 fields",
   * "decrypt msg.payload"), and the form's #node-input-fields-text shows the `fields`
   * list one path a line and saves what was typed back as a list.
   */
  function fieldsDialog(verb) {
    return {
      label: function () {
        if (this.name) return this.name;
        var f = toList(this.fields);
        return verb + " " + (f.length ? f.length + " field" + (f.length > 1 ? "s" : "") : "msg." + (this.property || "payload"));
      },
      oneditprepare: function () {
        $("#node-input-fields-text").val(toList(this.fields).join("\n"));
      },
      oneditsave: function () {
        this.fields = toList($("#node-input-fields-text").val());
      }
    };
  }

  global.PrivacyEditor = {
    CATEGORY: "privacy",
    COLOR: "#C7E9C0",
    parsePath: parsePath,
    pathProblem: pathProblem,
    isPath: isPath,
    toList: toList,
    pathValidator: pathValidator,
    pathListValidator: pathListValidator,
    resizeList: resizeList,
    fieldsDialog: fieldsDialog
  };
})(window);
