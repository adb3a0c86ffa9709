import re, json, random
_SOURCE_SPLIT_REGEX = re.compile(
    r'(?<=^)"([^"]+)"(?=:|$)'
    r'|(?<=:)"([^"]+)"(?=:|$)'
    r'|(?<=^)([^:]*)(?=:|$)'
    r'|(?<=:)([^:]*)(?=:|$)',
)
def psa(src):
    return [m[0] or m[1] or m[2] or m[3] for m in _SOURCE_SPLIT_REGEX.findall(src)]
random.seed(7)
out=[]
seen=set()
alpha='ab:"'
for n in range(0,9):
    for _ in range(60):
        s=''.join(random.choice(alpha) for _ in range(n))
        if s in seen: continue
        seen.add(s); out.append([s, psa(s)])
print(json.dumps(out))
