//! The vocabulary the workload is composed from: places, company-name parts, people, titles and
//! the phrases reps write in visit summaries.
//!
//! The functions at the end compose them into names, contacts, notes and visit summaries.
//!
//! Every list is fixed and ordered, so a seed always draws the same words; changing a list
//! changes every generated organisation (and the figures of benchmarks built on it).

use fieldsync_core::model::customer::NewContact;
use fieldsync_core::model::visit::VisitType;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{pick, weighted};

/// A city customers are in, with the territory that covers it.
pub(crate) struct City {
    /// Province, as written in addresses.
    pub province: &'static str,
    /// Full city name (苏州市).
    pub city: &'static str,
    /// Short form used as a company-name prefix (苏州).
    pub short: &'static str,
    /// Telephone area code.
    pub area_code: &'static str,
    /// City centre, WGS-84.
    pub lat: f64,
    /// City centre, WGS-84.
    pub lon: f64,
    /// Districts and county-level cities, for addresses.
    pub districts: &'static [&'static str],
    /// Index into [`TERRITORIES`].
    pub territory: usize,
}

/// The sales territories, five reps each.
#[rustfmt::skip]
pub(crate) const TERRITORIES: [&str; 10] = [
    "east-1", "east-2", "east-3", "east-4", "east-5", "east-6",
    "south-1", "south-2", "north-1", "central-1",
];

/// Regional name prefixes per territory (华东 for the east, …).
pub(crate) fn regions(territory: usize) -> &'static [&'static str] {
    match TERRITORIES[territory].split('-').next() {
        Some("east") => &["华东", "江南", "东方"],
        Some("south") => &["华南", "南方"],
        Some("north") => &["华北", "北方"],
        _ => &["华中", "中原"],
    }
}

macro_rules! city {
    ($p:literal, $c:literal, $s:literal, $code:literal, $lat:literal, $lon:literal, [$($d:literal),+], $t:literal) => {
        City {
            province: $p,
            city: $c,
            short: $s,
            area_code: $code,
            lat: $lat,
            lon: $lon,
            districts: &[$($d),+],
            territory: $t,
        }
    };
}

/// Every city, each in one territory; every territory has at least one.
#[rustfmt::skip]
pub(crate) const CITIES: &[City] = &[
    city!("江苏省", "苏州市", "苏州", "0512", 31.30, 120.58, ["工业园区", "吴中区", "相城区", "昆山市"], 0),
    city!("江苏省", "无锡市", "无锡", "0510", 31.49, 120.31, ["新吴区", "惠山区", "江阴市"], 0),
    city!("江苏省", "常州市", "常州", "0519", 31.81, 119.97, ["武进区", "新北区", "钟楼区"], 1),
    city!("江苏省", "南京市", "南京", "025", 32.06, 118.79, ["江宁区", "浦口区", "栖霞区"], 1),
    city!("江苏省", "南通市", "南通", "0513", 32.00, 120.86, ["崇川区", "通州区", "海门区"], 1),
    city!("上海市", "上海市", "上海", "021", 31.23, 121.47, ["嘉定区", "松江区", "闵行区", "青浦区"], 2),
    city!("浙江省", "杭州市", "杭州", "0571", 30.27, 120.16, ["余杭区", "萧山区", "滨江区"], 3),
    city!("浙江省", "嘉兴市", "嘉兴", "0573", 30.75, 120.76, ["南湖区", "海宁市", "桐乡市"], 3),
    city!("浙江省", "绍兴市", "绍兴", "0575", 30.00, 120.58, ["柯桥区", "上虞区", "诸暨市"], 3),
    city!("浙江省", "宁波市", "宁波", "0574", 29.87, 121.54, ["鄞州区", "北仑区", "镇海区", "慈溪市"], 4),
    city!("浙江省", "台州市", "台州", "0576", 28.66, 121.42, ["路桥区", "温岭市", "玉环市"], 4),
    city!("浙江省", "金华市", "金华", "0579", 29.08, 119.65, ["婺城区", "义乌市", "永康市", "东阳市"], 5),
    city!("浙江省", "温州市", "温州", "0577", 28.00, 120.70, ["瓯海区", "乐清市", "瑞安市"], 5),
    city!("广东省", "佛山市", "佛山", "0757", 23.02, 113.12, ["顺德区", "南海区", "禅城区"], 6),
    city!("广东省", "东莞市", "东莞", "0769", 23.02, 113.75, ["长安镇", "虎门镇", "松山湖"], 6),
    city!("福建省", "厦门市", "厦门", "0592", 24.48, 118.09, ["集美区", "海沧区", "同安区"], 7),
    city!("山东省", "青岛市", "青岛", "0532", 36.07, 120.38, ["黄岛区", "城阳区", "即墨区"], 8),
    city!("安徽省", "合肥市", "合肥", "0551", 31.82, 117.23, ["蜀山区", "包河区", "肥西县"], 9),
];

/// The distinctive middle of a company name.
#[rustfmt::skip]
pub(crate) const CORE_WORDS: &[&str] = &[
    "金立基", "精密", "恒达", "鑫源", "永盛", "宏泰", "华宇", "瑞丰", "联创", "三力", "天工",
    "博锐", "凯盛", "德信", "中特", "海纳", "东升", "金鹰", "新亚", "利达", "万通", "鸿运",
    "佳禾", "众诚", "荣昌", "盛世", "远航", "明辉", "安泰", "合力", "精工", "日升", "振华",
    "开元", "嘉禾", "顺发", "金桥", "同舟", "春晖", "奥斯特", "普瑞森", "科达", "伟业",
    "泰丰", "铭扬", "兆丰", "信诚", "金川", "长虹桥", "大拇指", "威力达", "百盛源", "汇通",
    "隆鑫",
];

/// An optional trade word after the core (苏州恒达 *机电* 设备有限公司).
#[rustfmt::skip]
pub(crate) const TRADE_WORDS: &[&str] = &[
    "机电", "五金", "模具", "轴承", "液压", "电子", "塑胶", "不锈钢", "紧固件", "工具",
    "自动化", "包装",
];

/// Legal-form suffixes, with the customer type they suggest.
pub(crate) const SUFFIXES: &[(&str, Kind)] = &[
    ("机械有限公司", Kind::End),
    ("机械制造有限公司", Kind::End),
    ("科技有限公司", Kind::End),
    ("实业有限公司", Kind::End),
    ("制造有限公司", Kind::End),
    ("工业股份有限公司", Kind::End),
    ("汽车配件有限公司", Kind::End),
    ("机电设备有限公司", Kind::End),
    ("五金制品厂", Kind::End),
    ("贸易有限公司", Kind::Distributor),
    ("工贸有限公司", Kind::Distributor),
    ("供应链有限公司", Kind::Distributor),
    ("五金商行", Kind::Store),
    ("工具经营部", Kind::Store),
];

/// What a suffix says about the business; mapped to `CustomerType` by the generator.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    End,
    Distributor,
    Store,
}

/// Industries, free text on the customer file.
#[rustfmt::skip]
pub(crate) const INDUSTRIES: &[&str] = &[
    "机械加工", "汽车零部件", "五金工具", "模具制造", "电子电器", "纺织机械", "建材", "家具制造",
    "包装印刷", "新能源", "医疗器械", "农业机械",
];

/// Family names, roughly by frequency (the first ones are drawn more often).
#[rustfmt::skip]
pub(crate) const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "潘", "袁", "蔡", "蒋", "余", "于", "杜", "叶", "程", "魏", "苏", "吕", "丁",
    "任", "沈", "姚", "卢", "钟", "姜", "崔", "谭", "陆", "范", "汪", "廖", "石", "金", "贾", "夏",
    "方", "邹", "熊", "孟", "秦", "邱", "侯", "江", "尹", "薛", "段", "雷", "龙", "史", "陶", "贺",
    "毛", "顾", "龚", "邵", "钱", "戴", "严", "欧阳", "司马",
];

/// Given names, one or two characters.
#[rustfmt::skip]
pub(crate) const GIVEN_NAMES: &[&str] = &[
    "建国", "伟", "芳", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "志强", "海燕", "晓东", "文斌", "国华",
    "红梅", "春生", "永刚", "立新", "德明", "雪梅", "晓燕", "俊杰", "子涵", "浩然", "思远", "嘉怡",
    "建平", "玉兰", "卫东", "海涛", "丽娟", "宏伟", "建华", "小龙", "金凤", "振宇",
];

/// Job titles of people at customers; `true` for those who decide purchases.
pub(crate) const TITLES: &[(&str, bool)] = &[
    ("采购经理", false),
    ("采购经理", false),
    ("采购专员", false),
    ("总经理", true),
    ("副总经理", true),
    ("技术主管", false),
    ("生产经理", false),
    ("设备科长", false),
    ("财务经理", false),
    ("厂长", true),
    ("老板", true),
    ("质量主管", false),
    ("仓库主管", false),
];

/// Streets, for addresses.
#[rustfmt::skip]
pub(crate) const ROADS: &[&str] = &[
    "长江路", "人民路", "工业大道", "科技路", "创业路", "建设路", "解放路", "中山路", "新华路",
    "发展大道", "金山路", "湖滨路", "兴业路", "东环路", "开发区大道", "五金城路",
];

/// What the customers buy.
pub(crate) const PRODUCTS: &[(&str, &str)] = &[
    ("数控刀具", "件"),
    ("深沟球轴承", "套"),
    ("液压油缸", "台"),
    ("不锈钢板", "吨"),
    ("高强度紧固件", "千件"),
    ("气动元件", "件"),
    ("减速电机", "台"),
    ("切削液", "桶"),
    ("焊丝", "吨"),
    ("模具钢", "吨"),
    ("直线导轨", "米"),
    ("密封件", "千件"),
];

/// Competitors reps run into.
pub(crate) const COMPETITORS: &[&str] = &[
    "恒力五金",
    "宏达机械",
    "永固紧固件",
    "新世纪轴承",
    "金鼎工具",
    "东方精工",
    "力士达",
    "华美液压",
];

/// How a customer reacted, for summaries.
pub(crate) const REACTIONS: &[&str] = &[
    "对方比较感兴趣",
    "客户表示需要内部讨论",
    "对价格有顾虑",
    "认可我们的交期",
    "希望先小批量试用",
    "反馈质量稳定",
    "暂时没有新需求",
    "要求再降价百分之五",
    "答应下月安排试产",
];

/// Problems raised in complaints.
pub(crate) const PROBLEMS: &[&str] = &[
    "部分产品尺寸超差",
    "包装破损",
    "到货延迟三天",
    "表面有锈斑",
    "硬度不达标",
    "批次混料",
];

/// Requests raised in after-sales visits.
pub(crate) const REQUESTS: &[&str] = &[
    "增加备件库存",
    "安排技术培训",
    "缩短交货周期",
    "提供检测报告",
    "调整付款方式",
];

/// Agreed next steps.
pub(crate) const NEXT_STEPS: &[&str] = &[
    "安排技术交流",
    "寄送样品",
    "提交正式报价",
    "邀请来厂参观",
    "跟进付款",
    "约老板面谈",
    "确认试用结果",
    "准备年度框架协议",
];

/// Sentences for customer notes; `{}` is replaced by a product, number or competitor.
pub(crate) const NOTE_SENTENCES: &[&str] = &[
    "年用量约{n}吨，目前主要从{c}采购。",
    "对价格敏感，账期要求{n}天。",
    "老板重视质量，曾提出样品检测要求。",
    "计划下半年扩建产线，可能新增{p}需求。",
    "竞争对手{c}报价偏低，需关注。",
    "回款及时，信用良好。",
    "采购流程需经总部审批，周期较长。",
    "仓库空间有限，倾向于小批量多批次供货。",
];

/// A company name: [city or region] core [trade] suffix, e.g. 苏州金立基精密机械有限公司.
pub(crate) fn company_name(rng: &mut ChaCha8Rng, city: &City) -> (String, Kind) {
    let prefix = match rng.random_range(0..100) {
        0..55 => city.short,
        55..80 => pick(rng, regions(city.territory)),
        _ => "",
    };
    let core = pick(rng, CORE_WORDS);
    let trade = if rng.random_bool(0.4) {
        pick(rng, TRADE_WORDS)
    } else {
        &""
    };
    let (suffix, kind) = *pick(rng, SUFFIXES);
    let trade = if !trade.is_empty() && suffix.contains(trade) {
        ""
    } else {
        trade
    };
    (format!("{prefix}{core}{trade}{suffix}"), kind)
}

fn person_name(rng: &mut ChaCha8Rng) -> String {
    // Lower indices are more common: the minimum of two draws favours them.
    let s = rng
        .random_range(0..SURNAMES.len())
        .min(rng.random_range(0..SURNAMES.len()));
    format!("{}{}", SURNAMES[s], pick(rng, GIVEN_NAMES))
}

pub(crate) fn contact(rng: &mut ChaCha8Rng) -> NewContact {
    let name = person_name(rng);
    let (title, decision_maker) = *pick(rng, TITLES);
    let phone = format!(
        "1{}{:09}",
        pick(rng, &[3, 5, 7, 8, 9]),
        rng.random_range(0..1_000_000_000u32)
    );
    let email = rng.random_bool(0.3).then(|| {
        format!(
            "{}{}@{}",
            pick(rng, &["cg", "sales", "info", "purchase"]),
            rng.random_range(100..10_000),
            pick(rng, &["163.com", "qq.com", "126.com", "sina.com"])
        )
    });
    NewContact {
        name,
        title: Some(title.to_string()),
        phone: Some(phone),
        email,
        decision_maker,
    }
}

pub(crate) fn notes(rng: &mut ChaCha8Rng) -> String {
    let sentences = weighted(rng, &[(0, 30), (1, 35), (2, 25), (3, 10)]);
    rand::seq::index::sample(rng, NOTE_SENTENCES.len(), sentences)
        .into_iter()
        .map(|i| {
            NOTE_SENTENCES[i]
                .replace("{n}", &rng.random_range(5..200).to_string())
                .replace("{c}", pick::<&str>(rng, COMPETITORS))
                .replace("{p}", pick(rng, PRODUCTS).0)
        })
        .collect()
}

pub(crate) fn summary(rng: &mut ChaCha8Rng, visit_type: VisitType, contact: &str) -> String {
    let (product, unit) = *pick(rng, PRODUCTS);
    let reaction = pick(rng, REACTIONS);
    match visit_type {
        VisitType::FollowUp => {
            format!("回访{contact}，了解{product}使用情况，{reaction}。")
        }
        VisitType::ColdVisit => {
            format!("首次拜访，见到{contact}，介绍公司{product}产品线，{reaction}。")
        }
        VisitType::Sample => format!(
            "送{product}样品{}{unit}给{contact}试用，约定{}天后反馈。",
            rng.random_range(2..20),
            rng.random_range(3..15)
        ),
        VisitType::Quote => format!(
            "向{contact}提交{product}报价，单价{}元/{unit}，{reaction}。",
            rng.random_range(20..5000)
        ),
        VisitType::Complaint => format!(
            "处理{product}质量投诉，{contact}反映{}，已承诺{}天内给出方案。",
            pick(rng, PROBLEMS),
            rng.random_range(2..8)
        ),
        VisitType::AfterSales => format!(
            "售后回访，{product}运行正常，{contact}提出{}。",
            pick(rng, REQUESTS)
        ),
    }
}
