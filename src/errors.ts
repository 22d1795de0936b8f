/** A field-level validation problem, as listed in a problem+json `errors` array. */
export type FieldProblem = { field: string; message: string };

/** An error the API answers with on purpose; the error handler maps it to problem+json. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly errors?: FieldProblem[],
  ) {
    super(detail);
  }
}

export class NotFoundError extends ApiError {
  constructor(what: string, value: string, field: string) {
    super(404, 'not-found', 'Not Found', `No ${what} "${value}" exists.`, [{ field, message: `unknown ${what} "${value}"` }]);
  }
}

/** Malformed input: 400. */
export class BadRequestError extends ApiError {
  constructor(detail: string, errors?: FieldProblem[]) {
    super(400, 'validation-error', 'Bad Request', detail, errors);
  }
}

/** Well-formed input that cannot be accepted: 422. */
export class UnprocessableError extends ApiError {
  constructor(detail: string, errors?: FieldProblem[], code = 'unprocessable') {
    super(422, code, 'Unprocessable Content', detail, errors);
  }
}
