// Route validators compiled on first use instead of at start. Fastify compiles every route schema
// with Ajv when the app becomes ready: creating the Ajv instance and generating the code of our few
// fixed schemas cost ~25 ms of CPU, 0.13 s of a 0.2-CPU host's start, for routes the readiness
// check never calls. Here each route's validator is Fastify's own (@fastify/ajv-compiler, the same
// options, the same code), only built when a request first needs it or by precompile(), which
// the process entry runs once the app is listening. The validation itself is unchanged.
import AjvCompiler from '@fastify/ajv-compiler';

type BuildValidator = ReturnType<typeof AjvCompiler>;
type Compile = ReturnType<BuildValidator>;
type Validate = ReturnType<Compile>;

export interface LazyValidators {
  /** Fastify's `schemaController.compilersFactory.buildValidator` */
  buildValidator: BuildValidator;
  /** compiles every validator not compiled yet; returns how many it compiled */
  precompile(): number;
  /** how many validators are compiled so far (for tests) */
  compiled(): number;
}

/** Wraps a validator builder (default: Fastify's own, @fastify/ajv-compiler) so that it compiles lazily. */
export function lazyValidators(base: BuildValidator = AjvCompiler()): LazyValidators {
  const pending = new Set<() => Validate>();
  let compiled = 0;
  const buildValidator: BuildValidator = (externalSchemas, options) => {
    let compile: Compile | null = null;
    return (route) => {
      let inner: Validate | null = null;
      const get = () => {
        if (!inner) {
          // a schema Ajv rejects throws here, at the first request or at precompile(), and
          // answers 500: the app tests call every route, so such a schema fails them
          compile ??= base(externalSchemas, options);
          inner = compile(route);
          pending.delete(get);
          compiled++;
        }
        return inner;
      };
      pending.add(get);
      // Fastify reads `.errors` from the function it was given after a failed validation
      const validate = ((data: unknown) => {
        const v = get();
        const ok = v(data);
        (validate as { errors?: unknown }).errors = v.errors;
        return ok;
      }) as Validate;
      return validate;
    };
  };
  return {
    buildValidator,
    precompile() {
      const todo = [...pending];
      for (const get of todo) get();
      return todo.length;
    },
    compiled: () => compiled,
  };
}
