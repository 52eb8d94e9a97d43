/*
 * demo.c - deterministic demo data for a vault: products, customers with
 * realistic Chinese names and mainland numbers, and their calls,
 * follow-ups, deals and notes, loaded through the store's bulk interface.
 * Every value is valid by construction (test_demo.c checks it against
 * schema_validate), which is what lets the loader skip per-row checks.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "coffer/demo.h"

#define DAY 86400
#define NOTES_PER 100  /* one note per this many customers */
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Random numbers: xoshiro256** seeded by splitmix64 ------------------ */

struct rng {
	uint64_t s[4];
};

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rng_seed(struct rng *r, uint64_t seed)
{
	size_t i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* 0..n-1; the modulo bias is far below anything a demo could show. */
static uint64_t
below(struct rng *r, uint64_t n)
{
	return n == 0 ? 0 : rng_next(r) % n;
}

static int64_t
between(struct rng *r, int64_t lo, int64_t hi)
{
	return lo + (int64_t)below(r, (uint64_t)(hi - lo + 1));
}

/* 1 with probability pct percent */
static int
chance(struct rng *r, unsigned pct)
{
	return below(r, 100) < pct;
}

static double
unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

#define PICK(r, a) ((a)[below((r), NELEM(a))])

/* Weighted choice: w[] sums to 100, names[] the matching values. */
static const char *
weighted(struct rng *r, const char *const *names, const unsigned *w,
    size_t n)
{
	unsigned x = (unsigned)below(r, 100), acc = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		acc += w[i];
		if (x < acc)
			return names[i];
	}
	return names[n - 1];
}

/* Word lists --------------------------------------------------------- */

static const char *const surnames[] = { "王", "李", "张", "刘", "陈", "杨",
	"黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高",
	"林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
	"彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜",
	"叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔",
	"钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏", "韦", "付",
	"方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "闫", "段",
	"雷", "侯", "龙", "史", "陶", "黎", "贺", "顾", "毛", "郝", "龚", "邵" };
static const char *const compound_surnames[] = { "欧阳", "司马", "诸葛",
	"上官", "东方", "皇甫", "慕容", "令狐" };
static const char *const given[] = { "伟", "芳", "娜", "敏", "静", "丽",
	"强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀",
	"英", "华", "慧", "建", "平", "刚", "桂", "文", "辉", "玲", "鹏", "宇",
	"浩", "凯", "婷", "雪", "琳", "晨", "欣", "博", "佳", "子", "梓", "涵",
	"轩", "睿", "思", "雨", "嘉", "怡", "宁", "海", "波", "斌", "霞", "亮",
	"红", "志", "春", "燕", "飞", "鑫", "帆", "晓", "彤", "颖", "倩", "俊",
	"振", "国", "立", "新", "云", "峰", "琪", "瑶", "萱", "泽", "昊", "然" };
static const char *const mobile_prefixes[] = { "130", "131", "132", "133",
	"134", "135", "136", "137", "138", "139", "147", "150", "151", "152",
	"153", "155", "156", "157", "158", "159", "166", "173", "175", "176",
	"177", "178", "180", "181", "182", "183", "184", "185", "186", "187",
	"188", "189", "191", "195", "198", "199" };
static const char *const cities[] = { "北京", "上海", "广州", "深圳", "杭州",
	"南京", "苏州", "成都", "武汉", "西安", "重庆", "天津", "长沙", "郑州",
	"青岛", "宁波", "厦门", "合肥", "济南", "福州", "无锡", "东莞", "佛山",
	"昆明" };
static const char *const districts[] = { "高新区", "经济开发区", "城关区",
	"新城区", "滨江区", "江北区", "南山区", "朝阳区", "海淀区", "天河区",
	"武侯区", "鼓楼区", "西湖区", "工业园区", "雨花区", "金水区" };
static const char *const roads[] = { "人民路", "解放路", "中山路", "建设路",
	"文三路", "科技路", "长江路", "黄河路", "和平路", "新华路", "光明路",
	"创业大道", "学院路", "滨河路", "兴业街", "幸福路" };
static const char *const firm_words[] = { "恒信", "华泰", "金桥", "新锐",
	"鼎盛", "远航", "中科", "瑞丰", "汇通", "博雅", "天成", "永安", "宏达",
	"嘉禾", "众诚", "启明", "卓越", "华夏", "万通", "德润" };
static const char *const industries[] = { "科技", "贸易", "建材", "物流",
	"餐饮管理", "教育咨询", "医疗器械", "电子", "信息技术", "文化传媒",
	"机械设备", "食品", "服装", "房地产经纪", "环保工程" };
static const char *const needs[] = {
	"想上一套客户管理系统，现有表格管理太乱",
	"关注呼叫中心的价格，预算有限",
	"希望提升外呼效率，销售团队约20人",
	"需要企业宽带，办公室刚搬迁",
	"想了解云存储，担心数据安全",
	"需要视频会议方案，分公司较多",
	"对电子合同感兴趣，要求能对接现有系统",
	"年底前有采购计划，需要报价",
	"对比过几家供应商，比较看重售后",
	"希望先试用一个月再决定",
	"需要短信通知服务，用于会员营销",
	"现有系统即将到期，考虑更换",
	"老板决策，需要准备书面方案",
	"主要关心实施周期和培训",
	"财务软件需求，要求支持多账套" };
static const char *const call_notes[] = {
	"客户表示有兴趣，约定下周再联系",
	"已介绍产品功能，客户要求发资料到邮箱",
	"客户正在开会，稍后回电",
	"客户对价格有顾虑，需申请优惠",
	"决策人出差，下月回来再谈",
	"客户反馈上次安装有延误，已转售后部",
	"客户询问发票开具流程",
	"已确认需求，准备报价单",
	"客户称暂时不需要，半年后再联系",
	"客户对竞品做了比较，关注稳定性" };
static const char *const exclude_reasons[] = { "号码错误", "明确表示无需求",
	"非目标行业", "重复客户", "要求不再来电" };
static const char *const source_lists[] = { "2024Q1-展会名单",
	"2024Q2-行业黄页", "官网留资", "老客户转介绍", "合作伙伴推荐",
	"电话黄页-华东", "电话黄页-华南" };
static const char *const mail_domains[] = { "163.com", "126.com",
	"sina.com", "foxmail.com", "outlook.com", "139.com" };
static const char *const departments[] = { "售后部", "产品部", "财务部",
	"技术支持部", "市场部" };
static const char *const fu_outcomes[] = { "客户已确认方案", "改约下周",
	"客户暂缓采购", "已完成回访，满意", "客户提出续费需求" };

static const char *const intents[] = { "none", "low", "medium", "high" };
static const unsigned intent_w[] = { 20, 35, 30, 15 };
static const char *const stages[] = { "new", "screened", "excluded",
	"contacted", "following", "won", "lost" };
static const unsigned stage_w[] = { 30, 15, 8, 20, 15, 7, 5 };
static const char *const outcomes[] = { "answered", "no_answer", "busy",
	"voicemail", "wrong_number", "refused" };
static const unsigned outcome_w[] = { 55, 20, 8, 10, 2, 5 };
static const char *const payments[] = { "unpaid", "partial", "paid",
	"refunded" };
static const unsigned payment_w[] = { 15, 20, 62, 3 };

struct product_seed {
	const char *name;
	int64_t price;  /* fen */
	const char *spec;
};

static const struct product_seed products[] = {
	{ "云呼叫中心 标准版", 980000, "10坐席，通话录音保存180天" },
	{ "云呼叫中心 专业版", 1980000, "30坐席，智能路由，录音保存1年" },
	{ "云呼叫中心 旗舰版", 4980000, "100坐席，质检与报表，私有化可选" },
	{ "智能外呼机器人", 1280000, "并发20路，话术编辑器，意向分级" },
	{ "企业CRM 基础版", 360000, "20用户，客户档案与跟进记录" },
	{ "企业CRM 高级版", 880000, "50用户，销售漏斗，审批流" },
	{ "企业宽带 100M", 240000, "上下行对称100M，含固定IP一个" },
	{ "企业宽带 500M", 720000, "上下行对称500M，含固定IP五个" },
	{ "云存储 1TB", 120000, "三副本，按年付费" },
	{ "云存储 10TB", 960000, "三副本，异地备份" },
	{ "视频会议 年度套餐", 560000, "50方会议，录制与直播" },
	{ "电子签约服务包", 300000, "1000份合同，含CA证书" },
	{ "短信营销包 10万条", 450000, "三网合一，到达率报告" },
	{ "企业邮箱 50用户", 200000, "每用户20GB，反垃圾" },
	{ "财务SaaS 标准版", 680000, "多账套，电子发票对接" },
	{ "进销存软件", 398000, "多仓库，条码管理" },
	{ "网站建设 基础套餐", 500000, "响应式企业官网，含一年维护" },
	{ "小程序开发", 1500000, "定制开发，含后台管理" },
	{ "数据安全审计服务", 2600000, "年度审计与整改建议" },
	{ "办公设备租赁", 150000, "打印复印一体机，按月计费" },
};

/* The generator -------------------------------------------------------- */

enum { C_NAME, C_PHONE, C_EMAIL, C_COMPANY, C_ADDRESS, C_NEEDS, C_INTENT,
	C_STAGE, C_EXCL, C_OWNER, C_SOURCE, C_DNC, C_LABEL, C_CREATED,
	C_UPDATED, C_N };
static const char *const cust_cols[C_N] = { "name", "phone", "email",
	"company", "address", "needs", "intent", "stage", "exclude_reason",
	"owner_id", "source_list", "do_not_call", "label", "created",
	"updated" };
enum { K_CUST, K_AGENT, K_STARTED, K_DUR, K_OUTCOME, K_INTENT, K_NOTES,
	K_CREATED, K_UPDATED, K_N };
static const char *const call_cols[K_N] = { "customer_id", "agent_id",
	"started", "duration", "outcome", "intent", "notes", "created",
	"updated" };
enum { F_CUST, F_AGENT, F_DUE, F_KIND, F_STATUS, F_OUTCOME, F_CREATED,
	F_UPDATED, F_N };
static const char *const fu_cols[F_N] = { "customer_id", "agent_id", "due",
	"kind", "status", "outcome", "created", "updated" };
enum { D_CUST, D_AGENT, D_PRODUCT, D_AMOUNT, D_CONTRACT, D_PAYMENT, D_SAT,
	D_CLOSED, D_CREATED, D_UPDATED, D_N };
static const char *const deal_cols[D_N] = { "customer_id", "agent_id",
	"product_id", "amount", "contract_no", "payment_status",
	"satisfaction", "closed", "created", "updated" };
enum { N_KIND, N_SUBJECT, N_BODY, N_CUST, N_DEPT, N_AUTHOR, N_CREATED,
	N_UPDATED, N_N };
static const char *const note_cols[N_N] = { "kind", "subject", "body",
	"customer_id", "department", "author_id", "created", "updated" };
enum { P_NAME, P_SPEC, P_LIST, P_FLOOR, P_STRATEGY, P_CREATED, P_UPDATED,
	P_N };
static const char *const product_cols[P_N] = { "name", "spec", "list_price",
	"price_floor", "marketing_strategy", "created", "updated" };

struct gen {
	struct rng r;
	const struct demo_options *o;
	struct store *st;
	int64_t now;
	double calls;             /* average calls for a customer past "new" */
	struct store_bulk *cust, *call, *fu, *deal, *note;
	int64_t product_ids[NELEM(products)];
};

/* One customer's generated facts that its calls and deals depend on. */
struct cust {
	int64_t id, owner, created;
	const char *stage;
};

static int
put_text(struct store_bulk *b, size_t i, const char *s)
{
	return store_bulk_text(b, i, s);
}

static void
make_name(struct rng *r, char *buf, size_t sz)
{
	const char *sur = chance(r, 2) ? PICK(r, compound_surnames) :
	    PICK(r, surnames);

	if (chance(r, 30))
		snprintf(buf, sz, "%s%s", sur, PICK(r, given));
	else
		snprintf(buf, sz, "%s%s%s", sur, PICK(r, given), PICK(r, given));
}

static void
make_phone(struct rng *r, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s%08llu", PICK(r, mobile_prefixes),
	    (unsigned long long)below(r, 100000000));
}

static void
make_email(struct rng *r, char *buf, size_t sz)
{
	char user[16];
	size_t i, n;

	if (chance(r, 40)) { /* QQ mail: the QQ number */
		snprintf(buf, sz, "%llu@qq.com",
		    (unsigned long long)between(r, 10000, 3999999999LL));
		return;
	}
	n = (size_t)between(r, 3, 8);
	for (i = 0; i < n; i++)
		user[i] = (char)('a' + below(r, 26));
	user[n] = '\0';
	snprintf(buf, sz, "%s%02llu@%s", user,
	    (unsigned long long)below(r, 100), PICK(r, mail_domains));
}

/* Fill the optional text columns of a customer row. */
static int
customer_texts(struct gen *g, const char *city)
{
	char company[160], address[200], email[64];
	int rc = COFFER_OK;

	if (chance(&g->r, 35)) {
		make_email(&g->r, email, sizeof(email));
		rc = put_text(g->cust, C_EMAIL, email);
	}
	if (rc == COFFER_OK && chance(&g->r, 70)) {
		snprintf(company, sizeof(company), "%s%s%s有限公司", city,
		    PICK(&g->r, firm_words), PICK(&g->r, industries));
		rc = put_text(g->cust, C_COMPANY, company);
	}
	if (rc == COFFER_OK && chance(&g->r, 60)) {
		snprintf(address, sizeof(address), "%s市%s%s%lld号", city,
		    PICK(&g->r, districts), PICK(&g->r, roads),
		    (long long)between(&g->r, 1, 999));
		rc = put_text(g->cust, C_ADDRESS, address);
	}
	if (rc == COFFER_OK && chance(&g->r, 70))
		rc = put_text(g->cust, C_NEEDS, PICK(&g->r, needs));
	return rc;
}

static int
customer_row(struct gen *g, struct cust *c)
{
	char name[32], phone[16];
	const char *reason = NULL;
	int dnc, rc;

	make_name(&g->r, name, sizeof(name));
	make_phone(&g->r, phone, sizeof(phone));
	c->owner = g->o->agent_ids[below(&g->r, g->o->nagents)];
	c->created = g->now - between(&g->r, 1, 365) * DAY -
	    between(&g->r, 0, DAY - 1);
	c->stage = weighted(&g->r, stages, stage_w, NELEM(stages));
	if (strcmp(c->stage, "excluded") == 0)
		reason = PICK(&g->r, exclude_reasons);
	dnc = (reason != NULL && strcmp(reason, "要求不再来电") == 0) ||
	    chance(&g->r, 2);
	if ((rc = put_text(g->cust, C_NAME, name)) != COFFER_OK ||
	    (rc = put_text(g->cust, C_PHONE, phone)) != COFFER_OK ||
	    (rc = customer_texts(g, PICK(&g->r, cities))) != COFFER_OK ||
	    (rc = put_text(g->cust, C_INTENT, weighted(&g->r, intents,
	    intent_w, NELEM(intents)))) != COFFER_OK ||
	    (rc = put_text(g->cust, C_STAGE, c->stage)) != COFFER_OK ||
	    (rc = put_text(g->cust, C_EXCL, reason)) != COFFER_OK ||
	    (rc = store_bulk_int(g->cust, C_OWNER, c->owner)) != COFFER_OK ||
	    (rc = put_text(g->cust, C_SOURCE, PICK(&g->r, source_lists))) !=
	    COFFER_OK ||
	    (rc = store_bulk_int(g->cust, C_DNC, dnc)) != COFFER_OK ||
	    (rc = put_text(g->cust, C_LABEL, chance(&g->r, 3) ? "secret" :
	    NULL)) != COFFER_OK ||
	    (rc = store_bulk_int(g->cust, C_CREATED, c->created)) !=
	    COFFER_OK ||
	    (rc = store_bulk_int(g->cust, C_UPDATED, c->created)) != COFFER_OK)
		return rc;
	return store_bulk_insert(g->cust, &c->id);
}

static int64_t
call_duration(struct rng *r, const char *outcome)
{
	if (strcmp(outcome, "answered") == 0)
		return between(r, 30, 900);
	if (strcmp(outcome, "voicemail") == 0 ||
	    strcmp(outcome, "refused") == 0)
		return between(r, 10, 60);
	if (strcmp(outcome, "wrong_number") == 0)
		return between(r, 5, 30);
	return 0;
}

static int
call_row(struct gen *g, const struct cust *c)
{
	const char *outcome = weighted(&g->r, outcomes, outcome_w,
	    NELEM(outcomes));
	int answered = strcmp(outcome, "answered") == 0;
	int64_t agent = chance(&g->r, 90) ? c->owner :
	    g->o->agent_ids[below(&g->r, g->o->nagents)];
	int64_t started = between(&g->r, c->created, g->now - 1);
	int64_t dur = call_duration(&g->r, outcome);
	int rc;

	if ((rc = store_bulk_int(g->call, K_CUST, c->id)) != COFFER_OK ||
	    (rc = store_bulk_int(g->call, K_AGENT, agent)) != COFFER_OK ||
	    (rc = store_bulk_int(g->call, K_STARTED, started)) != COFFER_OK ||
	    (rc = store_bulk_int(g->call, K_DUR, dur)) != COFFER_OK ||
	    (rc = put_text(g->call, K_OUTCOME, outcome)) != COFFER_OK ||
	    (rc = put_text(g->call, K_INTENT, answered ? weighted(&g->r,
	    intents, intent_w, NELEM(intents)) : NULL)) != COFFER_OK ||
	    (rc = put_text(g->call, K_NOTES, answered && chance(&g->r, 60) ?
	    PICK(&g->r, call_notes) : NULL)) != COFFER_OK ||
	    (rc = store_bulk_int(g->call, K_CREATED, started + dur)) !=
	    COFFER_OK ||
	    (rc = store_bulk_int(g->call, K_UPDATED, started + dur)) !=
	    COFFER_OK)
		return rc;
	return store_bulk_insert(g->call, NULL);
}

static int
followup_row(struct gen *g, const struct cust *c, const char *kind)
{
	int64_t due = g->now + between(&g->r, -14 * DAY, 14 * DAY);
	int past = due < g->now;
	const char *status = !past ? "open" : chance(&g->r, 85) ? "done" :
	    "cancelled";
	int rc;

	if ((rc = store_bulk_int(g->fu, F_CUST, c->id)) != COFFER_OK ||
	    (rc = store_bulk_int(g->fu, F_AGENT, c->owner)) != COFFER_OK ||
	    (rc = store_bulk_int(g->fu, F_DUE, due)) != COFFER_OK ||
	    (rc = put_text(g->fu, F_KIND, kind)) != COFFER_OK ||
	    (rc = put_text(g->fu, F_STATUS, status)) != COFFER_OK ||
	    (rc = put_text(g->fu, F_OUTCOME, strcmp(status, "done") == 0 ?
	    PICK(&g->r, fu_outcomes) : NULL)) != COFFER_OK ||
	    (rc = store_bulk_int(g->fu, F_CREATED, c->created)) != COFFER_OK ||
	    (rc = store_bulk_int(g->fu, F_UPDATED, past ? due : c->created))
	    != COFFER_OK)
		return rc;
	return store_bulk_insert(g->fu, NULL);
}

static int
deal_row(struct gen *g, const struct cust *c)
{
	size_t p = (size_t)below(&g->r, NELEM(products));
	int64_t amount = products[p].price * between(&g->r, 85, 100) / 100 /
	    100 * 100;
	int64_t closed = between(&g->r, c->created, g->now - 1);
	char contract[32];
	int rc;

	snprintf(contract, sizeof(contract), "HT%06lld-%04lld",
	    (long long)(c->id % 1000000), (long long)below(&g->r, 10000));
	if ((rc = store_bulk_int(g->deal, D_CUST, c->id)) != COFFER_OK ||
	    (rc = store_bulk_int(g->deal, D_AGENT, c->owner)) != COFFER_OK ||
	    (rc = store_bulk_int(g->deal, D_PRODUCT, g->product_ids[p])) !=
	    COFFER_OK ||
	    (rc = store_bulk_int(g->deal, D_AMOUNT, amount)) != COFFER_OK ||
	    (rc = put_text(g->deal, D_CONTRACT, contract)) != COFFER_OK ||
	    (rc = put_text(g->deal, D_PAYMENT, weighted(&g->r, payments,
	    payment_w, NELEM(payments)))) != COFFER_OK ||
	    (rc = store_bulk_int(g->deal, D_SAT, chance(&g->r, 80) ?
	    between(&g->r, 3, 5) : between(&g->r, 1, 2))) != COFFER_OK ||
	    (rc = store_bulk_int(g->deal, D_CLOSED, closed)) != COFFER_OK ||
	    (rc = store_bulk_int(g->deal, D_CREATED, closed)) != COFFER_OK ||
	    (rc = store_bulk_int(g->deal, D_UPDATED, closed)) != COFFER_OK)
		return rc;
	return store_bulk_insert(g->deal, NULL);
}

static int
note_row(struct gen *g, const struct cust *c)
{
	static const char *const kinds[] = { "market_research", "competitor",
		"feedback", "other" };
	static const char *const subjects[] = { "本地市场需求调研",
		"竞品降价信息", "客户反馈汇总", "行业展会见闻" };
	static const char *const bodies[] = {
		"本月走访客户普遍关注价格与售后响应速度。",
		"竞争对手推出同类产品，报价低约一成，但不含培训。",
		"客户反映安装排期较长，建议售后部增加人手。",
		"展会上中小企业对云呼叫中心兴趣较高。" };
	size_t k = (size_t)below(&g->r, NELEM(kinds));
	int64_t author = g->o->author_id > 0 ? g->o->author_id :
	    g->o->agent_ids[0];
	int64_t when = between(&g->r, c->created, g->now - 1);
	int feedback = k == 2, rc;

	if ((rc = put_text(g->note, N_KIND, kinds[k])) != COFFER_OK ||
	    (rc = put_text(g->note, N_SUBJECT, subjects[k])) != COFFER_OK ||
	    (rc = put_text(g->note, N_BODY, bodies[k])) != COFFER_OK ||
	    (feedback && (rc = store_bulk_int(g->note, N_CUST, c->id)) !=
	    COFFER_OK) ||
	    (rc = put_text(g->note, N_DEPT, feedback ? PICK(&g->r,
	    departments) : NULL)) != COFFER_OK ||
	    (rc = store_bulk_int(g->note, N_AUTHOR, author)) != COFFER_OK ||
	    (rc = store_bulk_int(g->note, N_CREATED, when)) != COFFER_OK ||
	    (rc = store_bulk_int(g->note, N_UPDATED, when)) != COFFER_OK)
		return rc;
	return store_bulk_insert(g->note, NULL);
}

/* Calls, follow-ups and deals that go with a customer's stage. */
static int
customer_activity(struct gen *g, const struct cust *c)
{
	int64_t n = 0, i;
	int following, won, rc = COFFER_OK;

	if (strcmp(c->stage, "new") != 0 && g->calls > 0)
		n = (int64_t)(unit(&g->r) * (2 * g->calls + 1));
	for (i = 0; i < n && rc == COFFER_OK; i++)
		rc = call_row(g, c);
	following = strcmp(c->stage, "contacted") == 0 ||
	    strcmp(c->stage, "following") == 0;
	won = strcmp(c->stage, "won") == 0;
	if (rc == COFFER_OK && following)
		rc = followup_row(g, c, chance(&g->r, 70) ? "callback" :
		    "revisit");
	if (rc == COFFER_OK && won) {
		rc = deal_row(g, c);
		if (rc == COFFER_OK && chance(&g->r, 10))
			rc = deal_row(g, c);
		if (rc == COFFER_OK && chance(&g->r, 60))
			rc = followup_row(g, c, "after_sales");
	}
	return rc;
}

static int
add_products(struct gen *g)
{
	struct store_bulk *b = NULL;
	char strategy[200];
	size_t i;
	int rc;

	if ((rc = store_bulk_open(g->st, schema_kind("product"), product_cols,
	    P_N, &b)) != COFFER_OK)
		return rc;
	for (i = 0; i < NELEM(products) && rc == COFFER_OK; i++) {
		snprintf(strategy, sizeof(strategy), "主推%s客户，首年%lld折，"
		    "季度末冲量可再申请优惠", i % 2 ? "中小企业" : "连锁门店",
		    (long long)between(&g->r, 7, 9));
		if ((rc = put_text(b, P_NAME, products[i].name)) != COFFER_OK ||
		    (rc = put_text(b, P_SPEC, products[i].spec)) != COFFER_OK ||
		    (rc = store_bulk_int(b, P_LIST, products[i].price)) !=
		    COFFER_OK ||
		    (rc = store_bulk_int(b, P_FLOOR, products[i].price * 7 /
		    10)) != COFFER_OK ||
		    (rc = put_text(b, P_STRATEGY, strategy)) != COFFER_OK ||
		    (rc = store_bulk_int(b, P_CREATED, g->now - 400 * DAY)) !=
		    COFFER_OK ||
		    (rc = store_bulk_int(b, P_UPDATED, g->now - 400 * DAY)) !=
		    COFFER_OK)
			break;
		rc = store_bulk_insert(b, &g->product_ids[i]);
	}
	store_bulk_close(b);
	return rc;
}

static int
open_bulks(struct gen *g)
{
	int rc;

	if ((rc = store_bulk_open(g->st, schema_kind("customer"), cust_cols,
	    C_N, &g->cust)) != COFFER_OK ||
	    (rc = store_bulk_open(g->st, schema_kind("call"), call_cols, K_N,
	    &g->call)) != COFFER_OK ||
	    (rc = store_bulk_open(g->st, schema_kind("followup"), fu_cols, F_N,
	    &g->fu)) != COFFER_OK ||
	    (rc = store_bulk_open(g->st, schema_kind("deal"), deal_cols, D_N,
	    &g->deal)) != COFFER_OK)
		return rc;
	return store_bulk_open(g->st, schema_kind("note"), note_cols, N_N,
	    &g->note);
}

static void
close_bulks(struct gen *g)
{
	store_bulk_close(g->cust);
	store_bulk_close(g->call);
	store_bulk_close(g->fu);
	store_bulk_close(g->deal);
	store_bulk_close(g->note);
}

static int
one_customer(struct gen *g, size_t i)
{
	struct cust c;
	int rc;

	if ((rc = customer_row(g, &c)) != COFFER_OK ||
	    (rc = customer_activity(g, &c)) != COFFER_OK)
		return rc;
	if (i % NOTES_PER == NOTES_PER / 2)
		rc = note_row(g, &c);
	return rc;
}

/* Customers first..last-1 and everything hanging off them, one commit. */
static int
batch(struct gen *g, size_t first, size_t last)
{
	size_t i;
	int rc;

	if ((rc = store_begin(g->st)) != COFFER_OK)
		return rc;
	for (i = first; i < last && rc == COFFER_OK; i++)
		rc = one_customer(g, i);
	if (rc == COFFER_OK && (rc = store_commit(g->st)) == COFFER_OK)
		return rc;
	store_rollback(g->st);
	return rc;
}

/* Options make sense and every user they name exists. */
static int
check_options(struct store *st, const struct demo_options *o)
{
	struct store_user u;
	size_t i;
	int rc;

	if (st == NULL || o == NULL || o->agent_ids == NULL ||
	    o->nagents == 0 || o->author_id < 0 ||
	    o->calls_per_customer > 1000.0)
		return COFFER_ERR_USAGE;
	for (i = 0, rc = COFFER_OK; i < o->nagents && rc == COFFER_OK; i++)
		rc = store_user_get_id(st, o->agent_ids[i], &u);
	if (rc == COFFER_OK && o->author_id > 0)
		rc = store_user_get_id(st, o->author_id, &u);
	return rc == COFFER_ERR_NOT_FOUND ? COFFER_ERR_USAGE : rc;
}

int
demo_fill(struct store *st, const struct demo_options *o)
{
	struct gen g;
	size_t total, done;
	int rc;

	if ((rc = check_options(st, o)) != COFFER_OK)
		return rc;
	memset(&g, 0, sizeof(g));
	rng_seed(&g.r, o->seed);
	g.o = o;
	g.st = st;
	g.now = o->now > 0 ? o->now : (int64_t)time(NULL);
	total = o->customers > 0 ? o->customers : DEMO_DEFAULT_CUSTOMERS;
	/* customers still "new" (30%) get no calls; the rest make up for it */
	g.calls = o->calls_per_customer == 0 ? DEMO_DEFAULT_CALLS :
	    o->calls_per_customer;
	g.calls = g.calls < 0 ? 0 : g.calls / 0.7;
	if ((rc = store_begin(st)) != COFFER_OK)
		return rc;
	if ((rc = add_products(&g)) != COFFER_OK ||
	    (rc = store_commit(st)) != COFFER_OK) {
		store_rollback(st);
		return rc;
	}
	if ((rc = open_bulks(&g)) != COFFER_OK)
		goto out;
	for (done = 0; done < total && rc == COFFER_OK; ) {
		size_t end = total - done > DEMO_BATCH ? done + DEMO_BATCH :
		    total;

		if ((rc = batch(&g, done, end)) == COFFER_OK)
			done = end;
		if (o->progress != NULL)
			o->progress(o->progress_arg, done, total);
	}
out:
	close_bulks(&g);
	/* what a daemon would gather at its first start (store_optimize),
	 * gathered once here: a copied demo vault starts without the wait */
	if (rc == COFFER_OK)
		rc = store_optimize(st);
	return rc;
}
