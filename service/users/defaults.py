"""Defaults for a new user (API.md §5.5)."""

DEFAULT_DENY_DOMAINS = (
    "facebook.com instagram.com amazon.com twitter.com messenger.com google.com"
).split()

DEFAULT_ALLOW_DOMAINS = """
wikipedia.org nytimes.com forbes.com cnn.com cnbc.com medium.com washingtonpost.com brunch.co.kr
stackoverflow.com stackexchange.com techcrunch.com crunchbase.com nbcnews.com huffpost.com
buzzfeednews.com foxnews.com espn.com cbs.com cbsnews.com npr.org tistory.com cnet.com
noninertialframe.com reuters.com apnews.com politico.com kaggle.com udemy.com udacity.com
coursera.org github.com gitlab.com bloomberg.com fool.com python.org geeksforgeeks.org leetcode.com
towardsdatascience.com nfl.com wsj.com usnews.com tmz.com businessinsider.com latimes.com
techmeme.com engadget.com theverge.com ycombinator.com gizmodo.com producthunt.com venturebeat.com
wired.com technologyreview.com androidcentral.com androidauthority.com vox.com fortune.com arxiv.org
openai.com researchgate.net machinelearningmastery.com aitrends.com artificial-intelligence.blog
mit.edu caltech.edu sciencedaily.com research.google kdnuggets.com serverless.com namu.wiki
github.io angular.io mozilla.org w3schools.com nih.gov science.gov elsevier.com academia.edu
scienceopen.com goodreads.com hbr.org css-tricks.com freecodecamp.org inc.com mashable.com
paulgraham.com quora.com entrepreneur.com ted.com economist.com dzone.com hackernoon.com devdocs.io
diff.blog digitalocean.com slashdot.org serverfault.com askubuntu.com betterprogramming.pub
stackshare.io dev.to xkcd.com hackerrank.com okky.kr edx.org pluralsight.com tensorflow.org
pytorch.org scikit-learn.org deeplearning.ai topcoder.com artofproblemsolving.com redhat.com
glassdoor.com heroku.com devpost.com pagenow.io testdriven.io plainenglish.io
""".split()

assert len(DEFAULT_ALLOW_DOMAINS) == 119 and len(set(DEFAULT_ALLOW_DOMAINS)) == 119

SHARE_WARNINGS = {
    "google.com": "Sharing google.com may reveal your mail, calendar and documents activity to friends.",
    "messenger.com": "Sharing messenger.com may reveal who you are messaging to friends.",
    "notion.so": "Sharing notion.so may reveal your private notes and workspace pages to friends.",
}
