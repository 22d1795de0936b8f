CREATE TABLE `question_banks` (
	`instrument_version` text PRIMARY KEY NOT NULL,
	`instrument_hash` text NOT NULL,
	`kb_release` text NOT NULL,
	`questions` text NOT NULL,
	`seeded_at` text NOT NULL
);
