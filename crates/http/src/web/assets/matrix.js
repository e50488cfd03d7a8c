// Matrix editor: live lint. As the text changes, it is sent to /matrix/check (with the
// form's CSRF token) and the diagnostics, with line and column, replace the list under it.
// Without this script the editor still works: saving shows the same diagnostics.
(function () {
  "use strict";
  var source = document.getElementById("source");
  var list = document.getElementById("lint");
  var summary = document.getElementById("lint-summary");
  if (!source || !list || source.readOnly) { return; }
  var csrf = source.form.querySelector("input[name=csrf]").value;
  var timer = null, sent = 0;
  function show(diagnostics) {
    list.textContent = "";
    var errors = 0;
    diagnostics.forEach(function (d) {
      if (d.severity === "error") { errors += 1; }
      var li = document.createElement("li");
      li.className = d.severity;
      li.textContent = "line " + d.line + ", column " + d.column + ": " + d.severity + " " + d.message + (d.hint ? " — " + d.hint : "");
      list.appendChild(li);
    });
    summary.textContent = errors + " error(s), " + (diagnostics.length - errors) + " warning(s)";
  }
  function check() {
    var mine = ++sent;
    var body = new URLSearchParams();
    body.set("csrf", csrf);
    body.set("source", source.value);
    fetch(source.dataset.check, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d && mine === sent) { show(d); } })
      .catch(function () {});
  }
  source.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 300);
  });
})();
