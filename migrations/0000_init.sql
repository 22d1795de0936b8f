CREATE TABLE `assessments` (
	`id` text PRIMARY KEY NOT NULL,
	`created_at` text NOT NULL,
	`company_size` text,
	`respondent` text,
	`answers` text NOT NULL,
	`result` text NOT NULL,
	`instrument_version` text NOT NULL,
	`scoring_version` text NOT NULL,
	`kb_release` text NOT NULL,
	`idempotency_key` text
);
--> statement-breakpoint
CREATE INDEX `assessments_created_at_idx` ON `assessments` (`created_at`);--> statement-breakpoint
CREATE TABLE `citations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`source_id` text NOT NULL,
	`expectation_id` integer,
	`variant_id` integer,
	`claim` text NOT NULL,
	FOREIGN KEY (`source_id`) REFERENCES `sources`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`expectation_id`) REFERENCES `expectations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`variant_id`) REFERENCES `variants`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "citations_one_target_check" CHECK(("citations"."expectation_id" is null) <> ("citations"."variant_id" is null))
);
--> statement-breakpoint
CREATE INDEX `citations_expectation_idx` ON `citations` (`expectation_id`);--> statement-breakpoint
CREATE INDEX `citations_variant_idx` ON `citations` (`variant_id`);--> statement-breakpoint
CREATE INDEX `citations_source_idx` ON `citations` (`source_id`);--> statement-breakpoint
CREATE TABLE `company_sizes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`headcount_min` integer NOT NULL,
	`headcount_max` integer,
	`position` integer NOT NULL,
	`description` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `company_sizes_slug_unique` ON `company_sizes` (`slug`);--> statement-breakpoint
CREATE UNIQUE INDEX `company_sizes_position_unique` ON `company_sizes` (`position`);--> statement-breakpoint
CREATE TABLE `competencies` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`category` text NOT NULL,
	`description` text NOT NULL,
	`position` integer NOT NULL,
	CONSTRAINT "competencies_category_check" CHECK("competencies"."category" in ('technical', 'people', 'delivery', 'communication', 'strategy'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `competencies_slug_unique` ON `competencies` (`slug`);--> statement-breakpoint
CREATE INDEX `competencies_category_idx` ON `competencies` (`category`);--> statement-breakpoint
CREATE TABLE `expectations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`role_id` integer NOT NULL,
	`competency_id` integer NOT NULL,
	`level` integer NOT NULL,
	`rationale` text NOT NULL,
	`editorial` integer DEFAULT false NOT NULL,
	FOREIGN KEY (`role_id`) REFERENCES `roles`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`competency_id`) REFERENCES `competencies`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "expectations_level_check" CHECK("expectations"."level" between 0 and 4)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `expectations_role_competency_unique` ON `expectations` (`role_id`,`competency_id`);--> statement-breakpoint
CREATE INDEX `expectations_competency_idx` ON `expectations` (`competency_id`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`key` text NOT NULL,
	`scope` text NOT NULL,
	`request_hash` text NOT NULL,
	`status_code` integer NOT NULL,
	`response` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `idempotency_keys_scope_key_unique` ON `idempotency_keys` (`scope`,`key`);--> statement-breakpoint
CREATE INDEX `idempotency_keys_created_at_idx` ON `idempotency_keys` (`created_at`);--> statement-breakpoint
CREATE TABLE `questions` (
	`id` text PRIMARY KEY NOT NULL,
	`prompt` text NOT NULL,
	`competency_id` integer NOT NULL,
	`keyed` text NOT NULL,
	`position` integer NOT NULL,
	FOREIGN KEY (`competency_id`) REFERENCES `competencies`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "questions_keyed_check" CHECK("questions"."keyed" in ('plus', 'minus'))
);
--> statement-breakpoint
CREATE INDEX `questions_competency_idx` ON `questions` (`competency_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `questions_position_unique` ON `questions` (`position`);--> statement-breakpoint
CREATE TABLE `releases` (
	`id` text PRIMARY KEY NOT NULL,
	`content_hash` text NOT NULL,
	`instrument_version` text NOT NULL,
	`seeded_at` text NOT NULL,
	`current` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `releases_one_current` ON `releases` (`current`) WHERE "releases"."current" = 1;--> statement-breakpoint
CREATE TABLE `roles` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`summary` text NOT NULL,
	`typical_day` text NOT NULL,
	`position` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `roles_slug_unique` ON `roles` (`slug`);--> statement-breakpoint
CREATE TABLE `sources` (
	`id` text PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`kind` text NOT NULL,
	`summary` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `variants` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`expectation_id` integer NOT NULL,
	`company_size_id` integer NOT NULL,
	`level` integer NOT NULL,
	`rationale` text NOT NULL,
	`editorial` integer DEFAULT false NOT NULL,
	FOREIGN KEY (`expectation_id`) REFERENCES `expectations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`company_size_id`) REFERENCES `company_sizes`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "variants_level_check" CHECK("variants"."level" between 0 and 4)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `variants_expectation_size_unique` ON `variants` (`expectation_id`,`company_size_id`);--> statement-breakpoint
CREATE INDEX `variants_company_size_idx` ON `variants` (`company_size_id`);