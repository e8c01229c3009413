export { type RunningStack, startStack } from "./stack";
