// The popup of Migrate Existing Users: a modal <dialog>; OK closes it and the page's address
// loses its ?run=, so a reload does not open it again. While the worker runs the migration,
// the popup polls its progress and, once the run is done, reloads the page for the results.
(function () {
  "use strict";
  var POLL_MS = 1000;
  var dialog = document.getElementById("migration-results");
  if (!dialog || typeof dialog.showModal !== "function") { return; }
  var closed = false;
  dialog.addEventListener("close", function () {
    closed = true;
    var url = new URL(window.location.href);
    url.searchParams.delete("run");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  });
  dialog.showModal();
  var progressUrl = dialog.getAttribute("data-progress-url");
  if (!progressUrl) { return; }

  function show(name, value) {
    var cell = dialog.querySelector('[data-progress="' + name + '"]');
    if (cell) { cell.textContent = String(value); }
  }

  function poll() {
    if (closed) { return; }
    fetch(progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (progress) {
        if (!progress) { window.setTimeout(poll, POLL_MS * 5); return; }
        if (progress.done) { window.location.reload(); return; }
        show("processed", progress.processed);
        show("total", progress.total);
        var interrupted = document.getElementById("migration-interrupted");
        if (interrupted) { interrupted.hidden = progress.state !== "interrupted"; }
        window.setTimeout(poll, POLL_MS);
      })
      .catch(function () { window.setTimeout(poll, POLL_MS * 5); });
  }
  window.setTimeout(poll, POLL_MS);
})();
