import { Type } from 'typebox';
import { IsoTime, Strict, User } from './common.js';

// Lengths here are a first, cheap barrier; the core applies the exact rules (NFKC, bytes).
export const Credentials = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 256 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
  Strict,
);

export const RefreshBody = Type.Object({ refresh_token: Type.String({ minLength: 1, maxLength: 512 }) }, Strict);

export const LogoutBody = Type.Object(
  {
    scope: Type.Optional(Type.Union([Type.Literal('local'), Type.Literal('others'), Type.Literal('global')])),
    refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  },
  Strict,
);

export const PasswordChange = Type.Object(
  { current_password: Type.String({ minLength: 1, maxLength: 1024 }), new_password: Type.String({ minLength: 1, maxLength: 1024 }) },
  Strict,
);

export const AccountDeletion = Type.Object({ password: Type.String({ minLength: 1, maxLength: 1024 }) }, Strict);

export const TokenPair = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'seconds' }),
  refresh_token: Type.String(),
  refresh_expires_in: Type.Integer({ description: 'seconds' }),
  session_id: Type.String(),
});

export const Registered = Type.Object({ user: User });

export const Me = Type.Object({
  user: User,
  session: Type.Object({ id: Type.String(), created_at: IsoTime, expires_at: IsoTime }),
});

export const SessionList = Type.Object({
  sessions: Type.Array(Type.Object({
    id: Type.String(),
    created_at: IsoTime,
    last_used_at: IsoTime,
    expires_at: IsoTime,
    user_agent: Type.Union([Type.String(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    current: Type.Boolean(),
  })),
});

export const SessionParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, Strict);
