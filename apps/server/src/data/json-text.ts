// JSON text that PostgreSQL built, branded with the contract schema it holds. The server sends
// such text as it is (parsing and re-serialising it would cost what building it in SQL saved),
// so a plain `string` would let any text pass for any response body. Only the data-layer
// function whose SQL builds the schema gives a string this brand (as the row type of its
// statement), and a handler's result accepts a body only as the declared schema or as
// JsonText of it.
declare const schema: unique symbol;

export type JsonText<T> = string & { readonly [schema]: T };
