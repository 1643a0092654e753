// Setup: Quick Find filters the left menu as you type; the API Name follows the Label.
"use strict";

// Same rules as tandem/crm/permissions/api_names.py (docs/reference/setup.md).
function apiNameFromLabel(label) {
  let name = label.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+/, "");
  if (/^[0-9]/.test(name)) name = "X" + name;
  return name;
}

function setUpQuickFind() {
  const box = document.querySelector("[data-quick-find]");
  if (!box) return;
  const empty = document.querySelector("[data-quick-find-empty]");
  const filter = () => {
    const needle = box.value.trim().toLowerCase();
    let shown = 0;
    document.querySelectorAll("[data-menu-section]").forEach((section) => {
      let visible = 0;
      section.querySelectorAll("[data-menu-entry]").forEach((entry) => {
        const match = !needle || entry.dataset.label.includes(needle) || entry.dataset.section.includes(needle);
        entry.hidden = !match;
        if (match) visible += 1;
      });
      section.hidden = visible === 0;
      shown += visible;
    });
    if (empty) empty.hidden = shown !== 0;
  };
  box.addEventListener("input", filter);
  filter();
}

function setUpApiName() {
  const label = document.querySelector("[data-api-name-source]");
  if (!label) return;
  const target = document.getElementById(label.dataset.apiNameSource);
  if (!target) return;
  // Follow the label until the administrator edits the API name by hand.
  let edited = target.value !== "" && target.value !== apiNameFromLabel(label.value);
  target.addEventListener("input", () => { edited = target.value !== ""; });
  label.addEventListener("input", () => {
    if (!edited) target.value = apiNameFromLabel(label.value);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setUpQuickFind();
  setUpApiName();
});
