/**
 * The handler contract: one function per modelled operation, from validated wire input to wire
 * output. A missing operation in the handler map is a compile error.
 */
import type { OperationName } from '../generated/model.js';
import type { OperationTypes } from '../generated/types.js';
import type { Scope } from '../../domain/ports.js';
import type { Services } from '../../domain/services/index.js';

export interface CallContext {
  readonly scope: Scope;
  readonly requestId: string;
  readonly services: Services;
}

export type Handler<O extends OperationName> = (input: OperationTypes[O]['input'], call: CallContext) => Promise<OperationTypes[O]['output']>;

export type HandlerMap = { readonly [O in OperationName]: Handler<O> };

/** Epoch milliseconds to the Date the serializer writes as epoch seconds. */
export const date = (ms: number): Date => new Date(ms);
export const optionalDate = (ms: number | undefined): Date | undefined => (ms === undefined ? undefined : new Date(ms));
