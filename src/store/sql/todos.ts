import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { TodoRecord, TodoStore } from '../types.js';

export class SqlTodoStore implements TodoStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async listTodos(userId: string): Promise<TodoRecord[]> {
    // Ids are UUIDv7, so ordering by id is ordering by creation.
    const rows = await this.#db.selectFrom('todos').selectAll().where('user_id', '=', userId).orderBy('id', 'desc').execute();
    return rows.map(toTodo);
  }

  async createTodo(todo: TodoRecord): Promise<void> {
    await this.#db.insertInto('todos').values({
      id: todo.id, user_id: todo.userId, title: todo.title, done: todo.done ? 1 : 0, created_at: todo.createdAt, updated_at: todo.updatedAt,
    }).execute();
  }

  async getTodo(userId: string, id: string): Promise<TodoRecord | null> {
    // Ownership is part of the lookup, so another user's todo is simply not found.
    const row = await this.#db.selectFrom('todos').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    return row ? toTodo(row) : null;
  }

  async updateTodo(userId: string, id: string, patch: { title?: string; done?: boolean; updatedAt: number }): Promise<TodoRecord | null> {
    const result = await this.#db.updateTable('todos')
      .set({
        updated_at: patch.updatedAt,
        ...(patch.title !== undefined && { title: patch.title }),
        ...(patch.done !== undefined && { done: patch.done ? 1 : 0 }),
      })
      .where('id', '=', id).where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1 ? this.getTodo(userId, id) : null;
  }

  async deleteTodo(userId: string, id: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('todos').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}

function toTodo(row: Database['todos']): TodoRecord {
  return { id: row.id, userId: row.user_id, title: row.title, done: Number(row.done) === 1, createdAt: Number(row.created_at), updatedAt: Number(row.updated_at) };
}
