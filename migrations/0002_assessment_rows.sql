CREATE TABLE `assessment_documents` (
	`row_id` integer PRIMARY KEY NOT NULL,
	`tag` integer NOT NULL,
	`created_at` text NOT NULL,
	`company_size` text,
	`respondent` text,
	`document` text NOT NULL,
	`instrument_version` text NOT NULL,
	`scoring_version` text NOT NULL,
	`kb_release` text NOT NULL,
	`idempotency_key` text
);
--> statement-breakpoint
CREATE TABLE `assessment_id_keys` (
	`id` integer PRIMARY KEY NOT NULL,
	`key` blob NOT NULL,
	`next_row` integer NOT NULL,
	CONSTRAINT "assessment_id_keys_one_check" CHECK("assessment_id_keys"."id" = 1)
);
