/** Table shapes as Kysely sees them. Times are milliseconds since the epoch (bigint columns). */
export interface Database {
  users: {
    id: string;
    username: string;
    username_key: string;
    password_hash: string;
    created_at: number;
  };
  todos: {
    id: string;
    user_id: string;
    title: string;
    /** 0 or 1: one representation in both dialects. */
    done: number;
    created_at: number;
    updated_at: number;
  };
  signing_keys: {
    kid: string;
    alg: string;
    private_jwk: string;
    public_jwk: string;
    created_at: number;
    activates_at: number;
    retires_at: number | null;
    expires_at: number | null;
  };
  server_secrets: {
    name: string;
    value: string;
  };
  sessions: {
    id: string;
    user_id: string;
    generation: number;
    refresh_hash: string;
    /** SessionRecord.rotatedAt, newest first, one column per entry of ROTATION_HISTORY; NULL past its end. */
    rotated_at_1: number | null;
    rotated_at_2: number | null;
    rotated_at_3: number | null;
    rotated_at_4: number | null;
    created_at: number;
    last_used_at: number;
    expires_at: number;
    absolute_expires_at: number;
    user_agent: string | null;
    ip: string | null;
  };
}
