import { Type } from 'typebox';
import { IsoTime, Strict } from './common.js';

export const Todo = Type.Object({ id: Type.String(), title: Type.String(), done: Type.Boolean(), created_at: IsoTime, updated_at: IsoTime });

const Title = Type.String({ minLength: 1, maxLength: 500 });

export const NewTodo = Type.Object({ title: Title }, Strict);
export const TodoPatch = Type.Object({ title: Type.Optional(Title), done: Type.Optional(Type.Boolean()) }, Strict);
export const TodoParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, Strict);
export const TodoList = Type.Object({ todos: Type.Array(Todo) });
