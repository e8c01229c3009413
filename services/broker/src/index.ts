export { type AclDecision, authorizePublishTopic, authorizeSubscribeTopic } from "./broker-acl";
export {
  CONNACK_BAD_USERNAME_OR_PASSWORD,
  CONNACK_IDENTIFIER_REJECTED,
  CONNACK_NOT_AUTHORIZED,
  CONNACK_SERVER_UNAVAILABLE,
  createCredentialChecker,
} from "./broker-credentials";
export type { BrokerIdentity } from "./broker-identity";
export { BROKER_ENV_BINDINGS, loadBrokerConfig } from "./load-broker-config";
export { type RunningBroker, type StartBrokerOptions, startBroker } from "./start-broker";
