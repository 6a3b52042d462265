// A bar chart (as the character frequencies are shown).
showPlot({ data: [{ type: "bar", x: ["a", "b", "c"], y: [3, 1, 2] }], layout: { title: { text: "a bar chart" } } });
