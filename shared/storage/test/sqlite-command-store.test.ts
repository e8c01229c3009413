import { openSqliteCommandStore } from "../src/sqlite-command-store";
import { describeCommandStore } from "./command-store.conformance";

describeCommandStore("SQLite", openSqliteCommandStore);
