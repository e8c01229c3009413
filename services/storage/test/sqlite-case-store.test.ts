import { openSqliteCaseStore } from "../src/sqlite-case-store";
import { describeCaseStore } from "./case-store.conformance";

describeCaseStore("SQLite", openSqliteCaseStore);
