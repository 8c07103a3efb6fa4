// Minimal typing for fengari (a Lua 5.3 VM in JavaScript; dev dependency, tests only).
declare module 'fengari' {
  type LuaState = object;
  const fengari: {
    to_luastring(s: string): Uint8Array;
    lua: {
      LUA_OK: number; LUA_TTABLE: number; LUA_TSTRING: number; LUA_TNIL: number;
      lua_createtable(L: LuaState, narr: number, nrec: number): void;
      lua_setfield(L: LuaState, idx: number, k: Uint8Array): void;
      lua_getfield(L: LuaState, idx: number, k: Uint8Array): number;
      lua_rawseti(L: LuaState, idx: number, n: number): void;
      lua_setglobal(L: LuaState, name: Uint8Array): void;
      lua_pushnil(L: LuaState): void;
      lua_pushboolean(L: LuaState, b: boolean): void;
      lua_pushinteger(L: LuaState, n: number): void;
      lua_pushnumber(L: LuaState, n: number): void;
      lua_pushstring(L: LuaState, s: Uint8Array): void;
      lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number;
      lua_type(L: LuaState, idx: number): number;
      lua_tojsstring(L: LuaState, idx: number): string;
      lua_settop(L: LuaState, idx: number): void;
      lua_pop(L: LuaState, n: number): void;
    };
    lauxlib: {
      luaL_newstate(): LuaState;
      luaL_loadbuffer(L: LuaState, buf: Uint8Array, sz: number | null, name: Uint8Array): number;
      luaL_requiref(L: LuaState, name: Uint8Array, open: unknown, glb: number): void;
    };
    lualib: Record<string, unknown> & { luaopen_base: unknown; luaopen_table: unknown; luaopen_string: unknown; luaopen_math: unknown };
  };
  export default fengari;
}
