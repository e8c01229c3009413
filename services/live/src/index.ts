export { type HealthReport, type RunningLive, type StartLiveOptions, startLive } from "./live-server";
export { LIVE_TOPIC_FILTERS } from "./mqtt-feed";
export { CaseListQuery, CaseStatusChange } from "./rest-routes";
