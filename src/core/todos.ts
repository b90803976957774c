/** The example protected resource: each todo belongs to the user whose token created it. */
import { AppError } from '../errors.js';
import type { Clock } from './clock.js';
import { uuidv7 } from './ids.js';
import type { TodoRecord, TodoStore } from '../store/types.js';

export class Todos {
  readonly #store: TodoStore;
  readonly #clock: Clock;

  constructor(store: TodoStore, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  list(userId: string): Promise<TodoRecord[]> {
    return this.#store.listTodos(userId);
  }

  async create(userId: string, title: string): Promise<TodoRecord> {
    const now = this.#clock.now();
    const todo: TodoRecord = { id: uuidv7(now), userId, title, done: false, createdAt: now, updatedAt: now };
    await this.#store.createTodo(todo);
    return todo;
  }

  /** Someone else's todo is `not_found`, exactly like a missing one: existence is not revealed. */
  async get(userId: string, id: string): Promise<TodoRecord> {
    return found(await this.#store.getTodo(userId, id));
  }

  async update(userId: string, id: string, patch: { title?: string | undefined; done?: boolean | undefined }): Promise<TodoRecord> {
    return found(await this.#store.updateTodo(userId, id, { ...definedOnly(patch), updatedAt: this.#clock.now() }));
  }

  async remove(userId: string, id: string): Promise<void> {
    if (!(await this.#store.deleteTodo(userId, id))) throw new AppError('not_found');
  }
}

function found(todo: TodoRecord | null): TodoRecord {
  if (!todo) throw new AppError('not_found');
  return todo;
}

function definedOnly<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
