#!/usr/bin/env python3
"""Writes the sample pages in config/samples/pages/ in their own encodings.

The pages are original text written for nichiro's tests and offline demo (not copies of any
outlet's article, except en-wire-copy, which republishes background paragraphs of corpus
document 004 to exercise duplicate detection). Run from anywhere; it rewrites the pages.
"""
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
PAGES = HERE / "pages"

NAV = """<header class="site-header"><div class="logo">{site}</div>
<nav class="main-nav"><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/politics">Politics</a></li><li><a href="/business">Business</a></li>
<li><a href="/sport">Sport</a></li></ul></nav></header>
<div class="cookie-banner">We use cookies to improve your experience. <a href="/privacy">Learn more</a> <button>Accept</button></div>"""

EN_TALKS = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Lavrov and Kono agree to speed up peace treaty talks | Pacific Wire</title>
<meta property="og:site_name" content="Pacific Wire">
<meta property="og:title" content="Lavrov and Kono agree to speed up peace treaty talks">
<meta name="description" content="The foreign ministers of Russia and Japan met in Moscow.">
<link rel="canonical" href="https://pacificwire.example/world/2019/05/lavrov-kono-peace-treaty?utm_source=rss">
<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle",
"headline":"Lavrov and Kono agree to speed up peace treaty talks","datePublished":"2019-05-10T18:30:00+03:00",
"author":{"@type":"Person","name":"Anna Morozova"}}</script>
<script>window.dataLayer = window.dataLayer || []; function track(){}</script>
<style>.share{display:flex}</style>
</head><body>
""" + NAV.format(site="Pacific Wire") + """
<main><article class="story">
<h1>Lavrov and Kono agree to speed up peace treaty talks</h1>
<div class="byline">By Anna Morozova, 10 May 2019</div>
<div class="share-buttons"><a href="#">Facebook</a> <a href="#">Twitter</a> <a href="#">Telegram</a> <a href="#">Email</a></div>
<figure><img src="/img/talks.jpg"><figcaption>Sergei Lavrov and Taro Kono in Moscow. Photo: Pacific Wire</figcaption></figure>
<div class="article-body">
<p>Russian Foreign Minister Sergei Lavrov and his Japanese counterpart Taro Kono agreed in Moscow on Friday to intensify negotiations on a peace treaty, the document that Russia and Japan have never signed since the end of the Second World War.</p>
<p>Lavrov told reporters that the two sides still held significantly different positions on the southern Kuril Islands, which Japan calls the Northern Territories, but that the talks had been frank and useful. Tokyo claims Iturup, Kunashir, Shikotan and the Habomai islets.</p>
<p>Kono said Japan wanted to settle the territorial issue and sign the treaty on the basis of the 1956 Joint Declaration, which mentions the handover of Shikotan and the Habomai islets after a treaty is concluded.</p>
<h2>Joint economic activities</h2>
<p>The ministers also discussed joint economic activities on the islands, including aquaculture, tourism and wind power, and the visa-free exchanges that allow former Japanese residents to visit the graves of their relatives.</p>
<p>Lavrov repeated Moscow's concern about the deployment of the US Aegis Ashore missile defence system in Japan, saying it affected the security of Russia. Kono said the system was purely defensive.</p>
</div>
<div class="related-stories"><h3>Related</h3><ul>
<li><a href="/world/2019/04/g20-osaka">G20 leaders to meet in Osaka in June</a></li>
<li><a href="/business/2019/04/lng">Sakhalin LNG output rises</a></li></ul></div>
<div class="comments"><h3>Comments (12)</h3><p>Log in to comment. Be respectful of other readers.</p></div>
</article></main>
<footer class="site-footer"><p>&copy; 2019 Pacific Wire. All rights reserved.</p><a href="/about">About us</a> <a href="/contact">Contact</a></footer>
</body></html>
"""

RU_KURILS = """<!DOCTYPE html>
<html lang="ru"><head>
<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">
<title>Бывшие жители Курил посетят могилы родственников — Восточные вести</title>
<meta property="og:site_name" content="Восточные вести">
<meta property="article:published_time" content="2019-07-20T09:15:00+10:00">
<meta name="author" content="Иван Петров">
</head><body>
<div class="header"><a href="/">Главная</a> | <a href="/politika">Политика</a> | <a href="/ekonomika">Экономика</a> | <a href="/sport">Спорт</a></div>
<div class="social-share">Поделиться: <a href="#">ВКонтакте</a> <a href="#">Одноклассники</a> <a href="#">Telegram</a></div>
<div class="content">
<h1>Бывшие жители Курил посетят могилы родственников</h1>
<p>Группа бывших японских жителей южных Курильских островов в рамках безвизовых обменов посетит остров Итуруп, сообщили в правительстве Сахалинской области. Визит пройдет с 22 по 26 июля.</p>
<p>Японская делегация из 60 человек прибудет на судне из порта Нэмуро на Хоккайдо. Гости посетят кладбища, где похоронены их родственники, и встретятся с жителями Курильска.</p>
<p>Безвизовые обмены между жителями Южных Курил и Японии проводятся с 1992 года на основе договоренности между Россией и Японией. Министры иностранных дел двух стран в мае договорились упростить процедуры для бывших жителей островов.</p>
<p>Вопрос о принадлежности островов остается главным препятствием для заключения мирного договора между Москвой и Токио.</p>
</div>
<div class="read-also">Читайте также: <a href="/news/1">Погода на выходные</a> <a href="/news/2">Курс рубля</a></div>
<div class="footer">© Восточные вести, 2019. Перепечатка запрещена.</div>
</body></html>
"""

JA_TALKS = """<!DOCTYPE html>
<html lang="ja"><head>
<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">
<title>日ロ外相会談、平和条約交渉を加速で一致｜北海ニュース</title>
<meta property="og:site_name" content="北海ニュース">
<meta property="article:published_time" content="2019-05-31T21:00:00+09:00">
</head><body>
<div id="global-nav"><a href="/">トップ</a> <a href="/seiji">政治</a> <a href="/keizai">経済</a> <a href="/sports">スポーツ</a></div>
<div class="sns-share"><a href="#">ツイート</a> <a href="#">シェア</a> <a href="#">LINEで送る</a></div>
<div class="article-text">
<h1>日ロ外相会談、平和条約交渉を加速で一致</h1>
<p>河野太郎外相は31日、東京都内でロシアのラブロフ外相と会談し、平和条約締結交渉を加速させることで一致した。北方領土問題を含む双方の立場にはなお大きな隔たりがある。</p>
<p>会談に先立ち、両国の外務・防衛閣僚協議（2プラス2）が開かれ、ロシア側は日本のイージス・アショア配備計画に懸念を表明した。日本側は北方四島でのロシア軍の演習に抗議した。</p>
<p>両外相は、北方四島での共同経済活動の具体化や、元島民による墓参の手続きの簡素化についても協議した。6月に大阪で予定される首脳会談に向けて調整を続ける。</p>
</div>
<div class="ranking">アクセスランキング：<a href="/a">天気</a> <a href="/b">株価</a></div>
<div class="footer">Copyright 北海ニュース All rights reserved.</div>
</body></html>
"""

EN_MARKETS = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Asian shares mixed as oil edges up | Market Desk</title>
<meta property="article:published_time" content="2019-06-03T08:00:00Z">
</head><body>
<nav><a href="/">Markets</a> <a href="/fx">FX</a></nav>
<article>
<h1>Asian shares mixed as oil edges up</h1>
<p>Asian shares were mixed on Monday as investors weighed trade tensions and slowing growth. Japan's Nikkei fell 0.9 percent, while shares in Hong Kong and Sydney rose slightly.</p>
<p>Brent crude rose 40 cents to 62.39 dollars a barrel after Saudi Arabia and Russia signalled that output cuts would continue. The yen was steady against the dollar in Tokyo trading.</p>
<p>Wheat futures in Chicago climbed on concerns about dry weather in Russia and Ukraine, while copper slipped on weaker factory data from China and Europe.</p>
</article>
<footer>Market Desk. Data delayed 15 minutes.</footer>
</body></html>
"""

def corpus_paragraphs(name, start_marker):
    text = (HERE.parent.parent / "corpus" / name).read_text(encoding="utf-8")
    keep = text[text.index(start_marker):]
    paras = [p.strip() for p in keep.split("\n") if len(p.strip()) > 80]
    return paras

EN_WIRE_BODY = "\n".join(f"<p>{p}</p>" for p in corpus_paragraphs("004_3f926fbd34ea6708.txt", "Since the mid-20th century"))
EN_WIRE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Background: the Kuril Islands issue | Gulf Post</title>
<meta property="article:published_time" content="2019-06-01T10:00:00+04:00">
</head><body>
<div class="menu"><a href="/">Home</a> <a href="/asia">Asia</a></div>
<div class="post-content">
<h1>Background: the Kuril Islands issue</h1>
<p>Ahead of the summit in Osaka, the Gulf Post republishes the background on the dispute between Moscow and Tokyo, according to TASS.</p>
""" + EN_WIRE_BODY + """
</div>
<div class="newsletter-signup">Subscribe to our newsletter for daily updates.</div>
</body></html>
"""

INDEX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>World news | Pacific Wire</title></head><body>
<nav><a href="/">Home</a></nav>
<h1>World</h1>
<ul class="list">
<li><a href="/world/2019/05/lavrov-kono-peace-treaty">Lavrov and Kono agree to speed up peace treaty talks</a></li>
<li><a href="/world/2019/05/markets">Asian shares mixed</a></li>
<li><a href="/world/2019/05/weather">Typhoon season starts early</a></li>
</ul></body></html>
"""

PAGES_SPEC = [
    ("en-lavrov-kono-talks.html", EN_TALKS, "utf-8"),
    ("ru-kurils-former-residents.html", RU_KURILS, "cp1251"),
    ("ja-foreign-ministers.html", JA_TALKS, "shift_jis"),
    ("en-asian-markets.html", EN_MARKETS, "utf-8"),
    ("en-wire-copy.html", EN_WIRE, "utf-8"),
    ("en-world-index.html", INDEX, "utf-8"),
]

if __name__ == "__main__":
    PAGES.mkdir(exist_ok=True)
    for name, html, encoding in PAGES_SPEC:
        (PAGES / name).write_bytes(html.encode(encoding))
        print("wrote", name, encoding)
