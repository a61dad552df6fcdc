import { Type, type TSchema } from 'typebox';

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'stable machine-readable code' }),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'ErrorResponse', description: 'Every error has this shape' },
);

export const ProgramParams = Type.Object({ programId: Type.String({ minLength: 1, maxLength: 64 }) });
export const MemberParams = Type.Object({
  programId: Type.String({ minLength: 1, maxLength: 64 }),
  memberId: Type.String({ minLength: 1, maxLength: 300, description: 'a Laurel member id, or ext:{externalId}' }),
});

export const PageQuery = Type.Object({
  cursor: Type.Optional(Type.String({ maxLength: 400 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
});

export function PageOf<T extends TSchema>(item: T) {
  return Type.Object({ data: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
}

export const DateTime = (description?: string) => Type.String({ format: 'date-time', ...(description ? { description } : {}) });
export const LocalDate = (description?: string) =>
  Type.String({ format: 'date', ...(description ? { description } : {}) });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** The error responses every authenticated route may give, for the OpenAPI document. */
export const commonErrors = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
};
