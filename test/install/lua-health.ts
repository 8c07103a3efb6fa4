// Runs an Argo CD health.lua script in fengari the way Argo CD does: the live object as the
// global `obj` (JSON arrays become 1-based tables), only the base, table, string and math
// libraries opened, and the returned table read as { status, message }.

import fengari from 'fengari';

const { lua, lauxlib, lualib, to_luastring } = fengari;

export interface HealthStatus { status: string; message: string | undefined }

type LuaState = ReturnType<typeof lauxlib.luaL_newstate>;

function pushValue(L: LuaState, v: unknown): void {
  if (v === null || v === undefined) lua.lua_pushnil(L);
  else if (typeof v === 'boolean') lua.lua_pushboolean(L, v);
  else if (typeof v === 'number') {
    if (Number.isInteger(v)) lua.lua_pushinteger(L, v); else lua.lua_pushnumber(L, v);
  } else if (typeof v === 'string') lua.lua_pushstring(L, to_luastring(v));
  else if (Array.isArray(v)) {
    lua.lua_createtable(L, v.length, 0);
    v.forEach((x, i) => { pushValue(L, x); lua.lua_rawseti(L, -2, i + 1); });
  } else if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    lua.lua_createtable(L, 0, entries.length);
    for (const [k, x] of entries) { pushValue(L, x); lua.lua_setfield(L, -2, to_luastring(k)); }
  } else throw new TypeError(`cannot pass a ${typeof v} to Lua`);
}

function readField(L: LuaState, key: string): string | undefined {
  const t = lua.lua_getfield(L, -1, to_luastring(key));
  const out = t === lua.LUA_TSTRING ? lua.lua_tojsstring(L, -1) : t === lua.LUA_TNIL ? undefined : `<non-string ${t}>`;
  lua.lua_pop(L, 1);
  return out;
}

/** Evaluates `script` against `obj`; throws with Lua's message if the script fails. */
export function runHealthLua(script: string, obj: unknown, chunkName = 'health.lua'): HealthStatus {
  const L = lauxlib.luaL_newstate();
  for (const [name, open] of [['_G', lualib.luaopen_base], ['table', lualib.luaopen_table], ['string', lualib.luaopen_string], ['math', lualib.luaopen_math]] as const) {
    lauxlib.luaL_requiref(L, to_luastring(name), open, 1);
    lua.lua_pop(L, 1);
  }
  pushValue(L, JSON.parse(JSON.stringify(obj)));
  lua.lua_setglobal(L, to_luastring('obj'));
  if (lauxlib.luaL_loadbuffer(L, to_luastring(script), null, to_luastring(chunkName)) !== lua.LUA_OK) {
    throw new Error(`Lua syntax error: ${lua.lua_tojsstring(L, -1)}`);
  }
  if (lua.lua_pcall(L, 0, 1, 0) !== lua.LUA_OK) throw new Error(`Lua runtime error: ${lua.lua_tojsstring(L, -1)}`);
  if (lua.lua_type(L, -1) !== lua.LUA_TTABLE) throw new Error('health.lua returned no table');
  const hs = { status: readField(L, 'status') ?? '', message: readField(L, 'message') };
  lua.lua_settop(L, 0);
  return hs;
}
