// Shows a slider's value next to it as it moves (the <output> names its input with for=).
// Without JavaScript the output shows the value the page was drawn with.
document.addEventListener("input", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== "range" || !input.dataset.output) {
    return;
  }
  const output = document.getElementById(input.dataset.output);
  if (output) {
    output.textContent = `${input.value}${input.dataset.unit || ""}`;
  }
});
