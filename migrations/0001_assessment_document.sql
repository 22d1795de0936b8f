PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_assessments` (
	`id` text PRIMARY KEY NOT NULL,
	`created_at` text NOT NULL,
	`company_size` text,
	`respondent` text,
	`document` blob,
	`answers` text,
	`result` text,
	`instrument_version` text NOT NULL,
	`scoring_version` text NOT NULL,
	`kb_release` text NOT NULL,
	`idempotency_key` text,
	CONSTRAINT "assessments_stored_check" CHECK("document" is not null or ("answers" is not null and "result" is not null))
);
--> statement-breakpoint
INSERT INTO `__new_assessments`("id", "created_at", "company_size", "respondent", "document", "answers", "result", "instrument_version", "scoring_version", "kb_release", "idempotency_key") SELECT "id", "created_at", "company_size", "respondent", NULL, "answers", "result", "instrument_version", "scoring_version", "kb_release", "idempotency_key" FROM `assessments`;--> statement-breakpoint
DROP TABLE `assessments`;--> statement-breakpoint
ALTER TABLE `__new_assessments` RENAME TO `assessments`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `assessments_created_at_idx` ON `assessments` (`created_at`);