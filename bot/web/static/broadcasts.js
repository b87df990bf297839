// 群发: filter the group list as the operator types (checked boxes stay checked). Without script the
// search button reloads the list from the server instead.
document.addEventListener("DOMContentLoaded", () => {
  for (const box of document.querySelectorAll("input[data-filter]")) {
    const rows = document.querySelector(box.dataset.filter);
    if (!rows) continue;
    box.addEventListener("input", () => {
      const wanted = box.value.trim().toLowerCase();
      for (const row of rows.querySelectorAll("tr")) {
        row.hidden = wanted !== "" && !row.dataset.name.toLowerCase().includes(wanted);
      }
    });
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter") event.preventDefault(); // filtering is live: Enter must not submit
    });
  }
});
