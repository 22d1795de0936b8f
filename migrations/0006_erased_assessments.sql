CREATE TABLE `erased_assessments` (
	`id` text PRIMARY KEY NOT NULL,
	`erased_at` text NOT NULL
);
