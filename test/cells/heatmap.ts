// A heatmap figure (as the attention weights are shown).
import { heatmapFigure, showPlot } from "@build-gpt/lib";
showPlot(heatmapFigure([{ z: [[1, 0, 0], [0.5, 0.5, 0], [0.33, 0.33, 0.34]], xLabels: ["a", "b", "c"], yLabels: ["a", "b", "c"], title: "weights" }], { title: "a heatmap" }));
