export { loadAccessList } from "./access-list";
export { CaseAcknowledge, CaseAssign, CaseListQuery, CaseNote, CaseStatusChange } from "./case-routes";
export { type Engineer, hasRole } from "./engineer-auth";
export { type HealthReport, type RunningLive, type StartLiveOptions, startLive } from "./live-server";
export { LIVE_TOPIC_FILTERS } from "./mqtt-feed";
