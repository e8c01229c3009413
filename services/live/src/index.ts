export { type Engineer, hasRole } from "./engineer-auth";
export { type HealthReport, type RunningLive, type StartLiveOptions, startLive } from "./live-server";
export { LIVE_TOPIC_FILTERS } from "./mqtt-feed";
export { CaseAcknowledge, CaseAssign, CaseListQuery, CaseNote, CaseStatusChange } from "./rest-routes";
