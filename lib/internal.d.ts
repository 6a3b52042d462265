export * from "./dist/internal";
