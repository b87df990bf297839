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

// 群发 deals: at most `data-max` may be ticked; the boxes left unticked wait until one is unticked.
document.addEventListener("DOMContentLoaded", () => {
  for (const area of document.querySelectorAll(".deals[data-max]")) {
    const max = Number(area.dataset.max);
    const boxes = [...area.querySelectorAll("input[name=deal]")];
    const update = () => {
      const full = boxes.filter((b) => b.checked).length >= max;
      for (const b of boxes) b.disabled = full && !b.checked;
    };
    for (const b of boxes) b.addEventListener("change", update);
    update();
  }
});
