import { openSqliteDurableQueue } from "../src/sqlite-durable-queue";
import { describeDurableQueue } from "./durable-queue.conformance";

describeDurableQueue("SQLite", (file, options) => openSqliteDurableQueue(file, options));
