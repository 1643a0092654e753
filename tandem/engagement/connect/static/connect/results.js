// The results popup of Migrate Existing Users: a modal <dialog>; OK closes it and the page's
// address loses its ?run=, so a reload does not open it again.
(function () {
  "use strict";
  var dialog = document.getElementById("migration-results");
  if (!dialog || typeof dialog.showModal !== "function") { return; }
  dialog.addEventListener("close", function () {
    var url = new URL(window.location.href);
    url.searchParams.delete("run");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  });
  dialog.showModal();
})();
