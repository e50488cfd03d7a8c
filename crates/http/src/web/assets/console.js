// Ladder console: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Countdowns and times: see clocks.js.

  // A form is sent once: the button is disabled while the page posts.
  document.addEventListener("submit", function (e) {
    var button = e.target.querySelector("button[type=submit]");
    if (button) { setTimeout(function () { button.disabled = true; }, 0); }
  });

  // The escalate panel: the team and person lists offer the chosen level's only (all the
  // levels above while the level is left to the default).
  var escLevel = document.getElementById("esc-level");
  if (escLevel) {
    var byLevel = function () {
      ["esc-team", "esc-user"].forEach(function (id) {
        var select = document.getElementById(id);
        if (!select) { return; }
        Array.prototype.forEach.call(select.querySelectorAll("optgroup[data-level]"), function (group) {
          var shown = !escLevel.value || group.getAttribute("data-level") === escLevel.value;
          group.hidden = !shown;
          group.disabled = !shown;
          if (!shown && group.querySelector("option:checked")) { select.value = ""; }
        });
      });
    };
    escLevel.addEventListener("change", byLevel);
    byLevel();
  }

  // Keyboard: "g q" goes to the queue; "/" focuses the first text box of the page's forms.
  var last = "";
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) { return; }
    if (last === "g" && e.key === "q") { window.location.href = "/queue"; }
    if (e.key === "/") {
      var field = document.querySelector("main textarea, main input[type=text]");
      if (field) {
        var details = field.closest("details");
        if (details) { details.open = true; }
        e.preventDefault();
        field.focus();
      }
    }
    last = e.key;
  });
})();
