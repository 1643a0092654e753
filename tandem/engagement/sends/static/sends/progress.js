// Poll a send's progress every two seconds and update the numbers on the page.
(function () {
  "use strict";
  var section = document.getElementById("progress");
  if (!section || section.dataset.final === "1") { return; }
  var url = section.dataset.url;
  var wasFinal = false;
  function update(data) {
    section.querySelectorAll("[data-field]").forEach(function (node) {
      var value = data[node.dataset.field];
      if (value === undefined) { return; }
      if (node.tagName === "PROGRESS") { node.value = value; } else { node.textContent = value; }
    });
    if (data.is_final && !wasFinal) { wasFinal = true; window.location.reload(); }
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { update(data); if (!data.is_final) { setTimeout(poll, 2000); } } })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
})();
