// Ladder console: keyboard shortcuts, macros in the reply box, and form helpers.
// Every page works without this file; it only saves keystrokes.
(function () {
  "use strict";

  function typing(target) {
    var tag = (target.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  // ---- next / previous case, in the order of the last list seen (queue or search) ----
  var ORDER_KEY = "ladder.caseOrder";
  var listed = Array.prototype.slice.call(document.querySelectorAll("table.cases td.subject a[href^='/cases/']"));
  if (listed.length) {
    try {
      sessionStorage.setItem(ORDER_KEY, JSON.stringify(listed.map(function (a) { return a.getAttribute("href"); })));
    } catch (err) { /* storage off: the shortcut just does nothing */ }
  }
  function order() {
    try { return JSON.parse(sessionStorage.getItem(ORDER_KEY) || "[]"); } catch (err) { return []; }
  }
  function step(by) {
    if (listed.length) {
      // On a list: move the focus along its rows; Enter opens the case.
      var at = listed.indexOf(document.activeElement);
      var next = listed[Math.min(listed.length - 1, Math.max(0, at < 0 ? 0 : at + by))];
      next.focus();
      return;
    }
    var cases = order();
    var here = cases.indexOf(window.location.pathname);
    var to = cases[here + by];
    if (here >= 0 && to) { window.location.href = to; }
  }

  // ---- the shortcut help ----
  var help = document.getElementById("shortcut-help");
  function toggleHelp(show) {
    if (!help) { return; }
    help.hidden = !show;
    if (show) { help.focus(); }
  }
  if (help) {
    var close = help.querySelector("button[data-close]");
    if (close) { close.addEventListener("click", function () { toggleHelp(false); }); }
  }

  // ---- macros: insert into the reply box ----
  var picker = document.getElementById("macro-pick");
  function insertMacro() {
    if (!picker) { return; }
    var option = picker.options[picker.selectedIndex];
    if (!option || !option.value) { picker.focus(); return; }
    var box = document.getElementById("reply-body");
    if (!box) { return; }
    var body = option.getAttribute("data-body") || "";
    var start = box.selectionStart || box.value.length, end = box.selectionEnd || box.value.length;
    box.value = box.value.slice(0, start) + body + box.value.slice(end);
    box.focus();
    box.selectionStart = box.selectionEnd = start + body.length;
    var chosen = document.getElementById("reply-macro");
    if (chosen) { chosen.value = option.value; }
  }
  var insert = document.getElementById("macro-insert");
  if (insert) {
    insert.addEventListener("click", function (e) { e.preventDefault(); insertMacro(); });
  }
  if (picker) {
    picker.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); insertMacro(); }
    });
  }

  // ---- "What was tried" is required when the agent escalates on their own ----
  var initiator = document.getElementById("esc-initiator");
  var tried = document.getElementById("esc-tried");
  if (initiator && tried) {
    var sync = function () { tried.required = initiator.value === "agent"; };
    initiator.addEventListener("change", sync);
    sync();
  }

  document.addEventListener("keydown", function (e) {
    // Ctrl+Enter (or Cmd+Enter) sends the form being typed in.
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && typing(e.target) && e.target.form) {
      e.preventDefault();
      if (e.target.form.reportValidity()) { e.target.form.requestSubmit(); }
      return;
    }
    if (e.key === "Escape" && help && !help.hidden) { toggleHelp(false); return; }
    if (typing(e.target) || e.ctrlKey || e.metaKey || e.altKey) { return; }
    switch (e.key) {
      case "?": toggleHelp(help && help.hidden); break;
      case "j": step(1); break;
      case "k": step(-1); break;
      case "s": {
        var search = document.getElementById("search-q");
        if (search) { search.focus(); search.select(); }
        break;
      }
      case "m": {
        if (!picker) { return; }
        var details = picker.closest("details");
        if (details) { details.open = true; }
        picker.focus();
        break;
      }
      default: return;
    }
    e.preventDefault();
  });
})();
