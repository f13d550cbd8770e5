// A search box above a list of people (<input data-filter-for="select-id">): typing narrows the
// list to the 姓名 (or username) that contain the text; people already chosen stay listed.
document.addEventListener("input", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.dataset.filterFor) return;
  const list = document.getElementById(box.dataset.filterFor);
  if (!list) return;
  const text = box.value.trim().toLowerCase();
  for (const option of list.options) {
    const shown = !text || option.selected || option.text.toLowerCase().includes(text)
      || option.value.toLowerCase().includes(text);
    option.hidden = !shown;
  }
});

// Enter in such a box only narrows the list: it must not submit the form around it (on a task
// page that form completes the task, with nobody copied yet).
document.addEventListener("keydown", (event) => {
  const box = event.target;
  if (event.key === "Enter" && box instanceof HTMLInputElement && box.dataset.filterFor) {
    event.preventDefault();
  }
});
