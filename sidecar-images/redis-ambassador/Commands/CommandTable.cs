using System.Collections.Frozen;
using System.Text;

namespace SidecarInjector.RedisAmbassador.Commands;

/// <summary>Classifies commands by name (and, for CLIENT and XREAD, by their arguments).</summary>
public static class CommandTable
{
    // Read-only commands: safe to retry when they never reached the server.
    private static readonly string[] ReadOnly =
    [
        "GET", "MGET", "GETRANGE", "SUBSTR", "STRLEN", "EXISTS", "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "TYPE",
        "KEYS", "SCAN", "RANDOMKEY", "DBSIZE", "DUMP", "OBJECT", "MEMORY", "TOUCH", "LCS",
        "HGET", "HMGET", "HGETALL", "HKEYS", "HVALS", "HLEN", "HEXISTS", "HSTRLEN", "HSCAN", "HRANDFIELD",
        "LRANGE", "LLEN", "LINDEX", "LPOS",
        "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SSCAN", "SRANDMEMBER", "SINTER", "SINTERCARD", "SUNION", "SDIFF",
        "ZRANGE", "ZRANGEBYSCORE", "ZRANGEBYLEX", "ZREVRANGE", "ZREVRANGEBYSCORE", "ZREVRANGEBYLEX", "ZSCORE", "ZMSCORE",
        "ZCARD", "ZCOUNT", "ZLEXCOUNT", "ZRANK", "ZREVRANK", "ZSCAN", "ZRANDMEMBER", "ZINTER", "ZUNION", "ZDIFF", "ZINTERCARD",
        "XRANGE", "XREVRANGE", "XLEN", "XINFO", "XPENDING",
        "BITCOUNT", "BITPOS", "GETBIT", "BITFIELD_RO", "GEOPOS", "GEODIST", "GEOHASH", "GEOSEARCH", "GEORADIUS_RO", "GEORADIUSBYMEMBER_RO",
        "PFCOUNT", "PING", "ECHO", "TIME", "INFO", "LASTSAVE", "COMMAND", "LOLWUT", "SORT_RO", "EVAL_RO", "EVALSHA_RO", "FCALL_RO",
    ];

    // Connection state or replies that are not one-per-request: MULTI/WATCH, blocking, pub/sub, MONITOR, SELECT, HELLO.
    // The UNSUBSCRIBE family answers once per channel named (even when not subscribed), and REPLCONF ACK/GETACK
    // not at all: on the shared connection either would shift every later reply onto the wrong request.
    private static readonly string[] Pinned =
    [
        "MULTI", "WATCH", "BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP", "WAIT", "WAITAOF",
        "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE", "MONITOR", "SELECT", "HELLO", "RESET",
        "READONLY", "READWRITE", "SYNC", "PSYNC", "REPLCONF",
    ];

    private static readonly string[] Local = ["AUTH", "QUIT"];

    private static readonly string[] ClientPinnedSubcommands = ["SETNAME", "REPLY", "TRACKING", "NO-EVICT", "NO-TOUCH", "CACHING"];

    private static readonly List<CommandInfo> All = [];

    private static readonly FrozenDictionary<string, CommandInfo> ByName = Build();

    private static readonly FrozenDictionary<string, CommandInfo>.AlternateLookup<ReadOnlySpan<char>> ByNameSpan =
        ByName.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Commands the table does not know: pooled, never retried, counted as "other".</summary>
    public static CommandInfo Other { get; } = Add("other", CommandRoute.Pool, false);

    public static CommandInfo ClientPinned { get; } = Add("client", CommandRoute.Pin, false);

    // CLIENT SETINFO only labels the connection; on a shared one it would be wrong, so it is acknowledged locally.
    public static CommandInfo ClientSetInfo { get; } = Add("client", CommandRoute.Local, false);

    public static CommandInfo XReadBlocking { get; } = Add("xread", CommandRoute.Pin, false);

    public static CommandInfo XReadGroupBlocking { get; } = Add("xreadgroup", CommandRoute.Pin, false);

    /// <summary>Every distinct command the table can return, indexed by <see cref="CommandInfo.Id"/>.</summary>
    public static IReadOnlyList<CommandInfo> Commands => All;

    /// <summary>The command named by <paramref name="name"/> (ASCII, any case); <paramref name="subcommand"/> is the first argument.</summary>
    public static CommandInfo Lookup(ReadOnlySpan<byte> name, ReadOnlySpan<byte> subcommand, bool hasBlockArgument)
    {
        if (name.Length is 0 or > 32)
        {
            return Other;
        }

        Span<char> chars = stackalloc char[name.Length];
        Encoding.ASCII.GetChars(name, chars);
        if (!ByNameSpan.TryGetValue(chars, out var info))
        {
            return Other;
        }

        return info.Name switch
        {
            "client" => ClassifyClient(info, subcommand),
            "xread" when hasBlockArgument => XReadBlocking,
            "xreadgroup" when hasBlockArgument => XReadGroupBlocking,
            _ => info,
        };
    }

    private static CommandInfo ClassifyClient(CommandInfo pooled, ReadOnlySpan<byte> subcommand)
    {
        if (subcommand.Length is 0 or > 16)
        {
            return pooled;
        }

        Span<char> chars = stackalloc char[subcommand.Length];
        Encoding.ASCII.GetChars(subcommand, chars);
        if (chars.Equals("SETINFO", StringComparison.OrdinalIgnoreCase))
        {
            return ClientSetInfo;
        }

        foreach (var pinned in ClientPinnedSubcommands)
        {
            if (chars.Equals(pinned, StringComparison.OrdinalIgnoreCase))
            {
                return ClientPinned;
            }
        }

        return pooled;
    }

    private static FrozenDictionary<string, CommandInfo> Build()
    {
        var map = new Dictionary<string, CommandInfo>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in ReadOnly)
        {
            map[name] = Add(name.ToLowerInvariant(), CommandRoute.Pool, true);
        }

        foreach (var name in Pinned)
        {
            map[name] = Add(name.ToLowerInvariant(), CommandRoute.Pin, false);
        }

        foreach (var name in Local)
        {
            map[name] = Add(name.ToLowerInvariant(), CommandRoute.Local, false);
        }

        // Common writes get their own metrics label; anything else is "other".
        string[] writes =
        [
            "SET", "SETEX", "PSETEX", "SETNX", "GETSET", "GETDEL", "GETEX", "MSET", "MSETNX", "APPEND", "SETRANGE",
            "INCR", "INCRBY", "INCRBYFLOAT", "DECR", "DECRBY", "DEL", "UNLINK", "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "PERSIST",
            "RENAME", "RENAMENX", "COPY", "HSET", "HSETNX", "HMSET", "HDEL", "HINCRBY", "HINCRBYFLOAT",
            "LPUSH", "RPUSH", "LPUSHX", "RPUSHX", "LPOP", "RPOP", "LSET", "LREM", "LTRIM", "LINSERT", "LMOVE", "RPOPLPUSH", "LMPOP",
            "SADD", "SREM", "SPOP", "SMOVE", "SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE",
            "ZADD", "ZREM", "ZINCRBY", "ZPOPMIN", "ZPOPMAX", "ZREMRANGEBYSCORE", "ZREMRANGEBYRANK", "ZREMRANGEBYLEX", "ZRANGESTORE", "ZMPOP",
            "XADD", "XDEL", "XTRIM", "XACK", "XCLAIM", "XAUTOCLAIM", "XGROUP", "XREAD", "XREADGROUP", "XSETID",
            "PFADD", "PFMERGE", "SETBIT", "BITOP", "BITFIELD", "GEOADD", "SORT", "EVAL", "EVALSHA", "FCALL", "SCRIPT", "FUNCTION",
            "PUBLISH", "SPUBLISH", "PUBSUB", "FLUSHDB", "FLUSHALL", "CONFIG", "CLIENT", "CLUSTER", "DEBUG", "SLOWLOG", "EXEC", "DISCARD", "UNWATCH",
        ];
        foreach (var name in writes)
        {
            map.TryAdd(name, Add(name.ToLowerInvariant(), CommandRoute.Pool, name == "XREAD"));
        }

        return map.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    private static CommandInfo Add(string name, CommandRoute route, bool isReadOnly)
    {
        var info = new CommandInfo(All.Count, name, route, isReadOnly);
        All.Add(info);
        return info;
    }
}
